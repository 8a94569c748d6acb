@preparation @hardware
Feature: Hardware check at power-on
  Before the first sale of the day the terminal checks its peripherals: the
  network link to the host (an echo test), the receipt printer (paper,
  cover), the card reader, the PIN pad and the barcode/QR scanner. A failed
  check is reported on the screen and the terminal runs degraded.

  Background:
    Given a lab with the default profile

  Scenario: Every peripheral answers and the terminal is ready
    When the terminal powers on
    Then the self test reports host as ok
    And the self test reports printer as ok
    And the self test reports cardreader as ok
    And the self test reports pinpad as ok
    And the self test reports scanner as ok
    And the terminal shows "PLEASE SIGN ON"
    And the printer answers status "ready"

  Scenario Outline: A failing peripheral is reported at power-on
    Given <fault>
    When the terminal powers on
    Then the self test reports <part> as failed with "<detail>"
    And the terminal shows "CHECK <PART>"
    And the self test reports <healthy> as ok

    Examples:
      | fault                          | part       | PART       | detail        | healthy    |
      | the printer runs out of paper  | printer    | PRINTER    | paper out     | cardreader |
      | the printer cover is opened    | printer    | PRINTER    | cover open    | pinpad     |
      | the printer goes offline       | printer    | PRINTER    | error         | scanner    |
      | the card reader is unplugged   | cardreader | CARDREADER | not answering | printer    |
      | the PIN pad breaks             | pinpad     | PINPAD     | not answering | printer    |
      | the scanner breaks             | scanner    | SCANNER    | not answering | cardreader |
      | the network is down            | host       | HOST       | link down     | printer    |

  Scenario: Paper nearly out is a warning, not a failure
    Given the printer's paper is nearly out
    When the terminal powers on
    Then the self test reports printer as ok with "paper near end"
    And the printer answers status "paper near end"

  Scenario: A peripheral fixed after a failed check passes the next one
    Given the card reader is unplugged
    And the terminal powers on
    And the self test reports cardreader as failed
    When the card reader is plugged back in
    And the terminal powers on
    Then the self test reports cardreader as ok
