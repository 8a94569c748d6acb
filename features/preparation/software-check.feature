@preparation @software
Feature: Software check at sign-on
  At sign-on the terminal reports its software version (field 60 of the
  0800). The host refuses terminal software older than its minimum
  (host.min_terminal_software of the profile, 2.0.0 by default) with 12,
  and a terminal that is not signed on does not trade.

  Background:
    Given a lab with the default profile
    And the terminal is powered on

  Scenario: The terminal's software is current and the sign-on loads the PIN key
    When the terminal signs on
    Then the terminal is signed on
    And the terminal shows "SIGNED ON - READY"
    And the terminal sent these messages:
      | mti  | 60    | 70  | 39 |
      | 0800 | 2.1.0 | 001 |    |
      | 0810 | 2.1.0 | 001 | 00 |

  Scenario: The host raises its minimum and refuses the outdated terminal
    Given the host requires terminal software "3.0.0" or newer
    When the terminal signs on
    Then the terminal is not signed on
    And the terminal shows "SIGN-ON REFUSED: INVALID TRANSACTION"
    And field 39 of the last answer was "12"
    When the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the last operation failed with "not signed on"
    And the terminal shows "PLEASE SIGN ON"
    And the host received 0 messages of MTI 0200

  Scenario Outline: Software versions are compared number by number
    When a test terminal "TERM0001" signs on with software "<version>"
    Then the host answers "<code>"

    Examples:
      | version | code |
      | 1.9.9   | 12   |
      | 2.0.0   | 00   |
      | 2.10.0  | 00   |
      | 10.0    | 00   |
