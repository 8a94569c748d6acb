@problems @devices
Feature: Hardware faults at the counter
  A receipt printer out of paper or with its cover open does not stop a
  sale: the sale stands, the receipts are queued and printed once the
  printer is ready. A broken scanner means keyed entry. Card reader and PIN
  pad faults end the sale before it reaches the host, except a card pulled
  out after the host approved, which is reversed.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: Out of paper: the sale stands and its receipts wait for new paper
    Given the printer runs out of paper
    When the customer pays 35.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal has shown "PRINTER: PAPER OUT - 2 RECEIPT(S) QUEUED"
    And the terminal raised an alert "printer not ready (paper out)"
    And the printer answers status "paper out"
    And 0 receipts were printed
    And 2 receipts are queued
    When the cashier loads paper into the printer
    And the cashier prints the queued receipts
    Then the last operation succeeded
    And 2 receipts were printed
    And no receipts are queued
    And the customer copy shows these lines:
      | label  | value     |
      | STAN   | {stan}    |
      | AMOUNT | CNY 35.00 |

  Scenario: Queued receipts are printed before the next sale's
    Given the printer runs out of paper
    And the customer pays 35.00 by credit card "visa-credit" by chip with PIN "1234"
    When the cashier loads paper into the printer
    And the customer takes the card out
    And the customer pays 12.00 by credit card "visa-credit" by chip with PIN "1234"
    Then 4 receipts were printed
    And no receipts are queued
    And the customer copy shows these lines:
      | label  | value     |
      | AMOUNT | CNY 12.00 |

  Scenario Outline: A printer that is not ready queues the receipts until it is
    Given <fault>
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the printer answers status "<status>"
    And 2 receipts are queued
    When <repair>
    And the cashier prints the queued receipts
    Then 2 receipts were printed
    And no receipts are queued

    Examples:
      | fault                       | status        | repair                      |
      | the printer cover is opened | cover open    | the printer cover is closed |
      | the printer goes offline    | printer error | the printer is fixed        |

  Scenario: Printing the queue while the printer still has no paper fails and keeps it
    Given the printer runs out of paper
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    When the cashier prints the queued receipts
    Then the last operation failed with "not ready"
    And 2 receipts are queued

  Scenario: Paper nearly out still prints
    Given the printer's paper is nearly out
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then 2 receipts were printed
    And the printer answers status "paper near end"

  Scenario: A broken scanner: the cashier keys the items in
    Given the scanner breaks
    When the cashier scans "bread"
    And the cashier keys in these items:
      | product | qty |
      | bread   | 1   |
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the terminal has shown "SCANNER FAULT - KEY ITEMS"
    And the terminal raised an alert "scanner failed, items keyed"
    And the transaction is approved
    And the approved amount is 8.00

  Scenario: The card is pulled out before the chip completes: the approved sale is reversed
    Given the customer pulls the card out early
    When the customer pays 50.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the terminal shows "CARD REMOVED BEFORE COMPLETION - REVERSED"
    And the host received a 0400 reversal for the last sale
    And field 39 of the last "0400" request was "06"
    And 0 reversals are pending
    And 0 receipts were printed

  Scenario: An unreadable swipe is swiped again
    Given the next swipe is unreadable
    When the customer swipes card "swipe-only"
    And the customer swipes card "swipe-only" when the terminal asks again
    And the cashier keys in an amount of 15.00
    And the cashier takes payment by debit card and the customer signs
    Then the terminal has shown "SWIPE ERROR - SWIPE AGAIN"
    And the transaction is approved
    And the card was read by swipe

  Scenario: The card reader is unplugged: the sale stops before the host
    Given the card reader is unplugged
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is failed
    And the terminal shows "CARD READER FAULT"
    And the host received 0 messages of MTI 0200
    When the card reader is plugged back in
    And the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario: The PIN pad breaks: the sale stops before the host
    Given the PIN pad breaks
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is failed
    And the terminal shows "PIN PAD FAULT"
    And the host received 0 messages of MTI 0200

  Scenario: The customer cancels PIN entry
    When the customer inserts card "visa-credit"
    And the customer presses cancel on the PIN pad
    And the cashier keys in an amount of 20.00
    And the cashier takes payment by credit card
    Then the transaction is failed
    And the terminal shows "PIN ENTRY CANCELLED"
    And the host received 0 messages of MTI 0200

  Scenario: The customer never enters the PIN: the terminal gives up after 60 seconds
    When the customer inserts card "visa-credit"
    And the cashier keys in an amount of 20.00
    And the cashier takes payment by credit card
    Then the transaction is failed
    And the terminal shows "PIN TIMEOUT - TRANSACTION CANCELLED"
    And the terminal showed "PIN TIMEOUT" at least 60s after "ENTER PIN ON PIN PAD"
    And the host received 0 messages of MTI 0200

  Scenario: No card is presented: the sale is cancelled after 60 seconds
    When the cashier keys in an amount of 20.00
    And the cashier takes payment by credit card
    Then the transaction is failed
    And the terminal shows "NO CARD - TRANSACTION CANCELLED"
    And the terminal showed "NO CARD" at least 60s after "INSERT, TAP OR SWIPE CARD"
