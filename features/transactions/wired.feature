@transactions @wired
Feature: The merchant flow over loopback TCP and real pseudo-terminals
  The same steps as everywhere else, in wired mode: the host listens on a
  loopback TCP port and the card reader, PIN pad, printer and scanner each
  sit on a real pty that the terminal opens as a serial port. These run in
  real time, so they are kept few and short.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A chip and PIN sale over TCP with every device on a pty
    When the customer pays 12.34 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the transaction settles D0
    And 2 receipts were printed
    And no receipt shows a full card number

  Scenario: The printer on its pty runs out of paper and prints the queue once loaded
    Given the printer runs out of paper
    When the cashier scans "bread"
    And the customer taps card "visa-credit"
    And the cashier takes payment by credit card
    Then the transaction is approved
    And 2 receipts are queued
    When the cashier loads paper into the printer
    Then 2 receipts were printed
