@preparation @configuration
Feature: Terminal and merchant configuration
  The merchant account is bound to the terminal: the host knows terminal
  TERM0001 as Demo Mart's (123456789012345) and answers a terminal or
  merchant it does not know, or a terminal sent for another merchant, with
  58 (not permitted to terminal) or 03 (invalid merchant).

  Background:
    Given a lab with the default profile

  Scenario: The terminal identifies itself as Demo Mart's TERM0001
    Given the terminal is powered on and signed on
    When the customer pays 1.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And field 41 of the last request was "TERM0001"
    And field 42 of the last request was "123456789012345"
    And the merchant copy shows these lines:
      | label         | value           |
      | MERCHANT NAME | Demo Mart       |
      | MERCHANT NO   | 123456789012345 |
      | TERMINAL NO   | TERM0001        |

  Scenario Outline: The host refuses a terminal or merchant it does not have on file
    When a test terminal "<terminal>" sends a sale of 10.00 with card "visa-credit" for merchant "<merchant>"
    Then the host answers "<code>"

    Examples: unknown or misbound
      | terminal | merchant        | code |
      | TERM9999 | 123456789012345 | 58   |
      | TERM0001 | 999999999000001 | 58   |
      | TERM0001 | 999999999999999 | 03   |

    Examples: bound as configured
      | terminal | merchant        | code |
      | TERM0001 | 123456789012345 | 00   |
      | LOAD0001 | 999999999000001 | 00   |

  Scenario: An unknown terminal cannot sign on
    When a test terminal "TERM9999" signs on
    Then the host answers "58"
