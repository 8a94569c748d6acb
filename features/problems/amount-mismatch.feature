@problems @amount-mismatch
Feature: Amount mismatch between what was asked and what was approved
  The amount charged can differ from the basket: the host approves another
  amount (field 4 of the answer), or approves only part of it (39 = 10,
  field 54). The terminal must notice at the counter: a different amount is
  reversed with an "amount mismatch" alert; a partial approval is reversed
  unless the merchant accepts it and collects the rest another way.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: The host approves a different amount: the sale is reversed and an alert raised
    Given the host approves the next sale for 90.00 instead
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the terminal shows "AMOUNT MISMATCH - TRANSACTION REVERSED"
    And the terminal raised an alert "amount mismatch: host approved 90.00 for 100.00"
    And field 4 of the last "0210" answer was "000000009000"
    And the host received a 0400 reversal for the last sale
    And field 39 of the last "0400" request was "06"
    And the host answered the last "0400" with "00"
    And 0 reversals are pending
    And 0 receipts were printed

  Scenario: A partial approval the merchant does not accept is reversed
    Given the host approves only 60.00 of the next sale
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And field 39 of the last "0210" answer was "10"
    And field 54 of the last "0210" answer was "000000006000"
    And the terminal shows "PARTIAL APPROVAL 60.00 NOT ACCEPTED - REVERSED"
    And the terminal raised an alert "partial approval of 60.00 for 100.00"
    And the host received a 0400 reversal for the last sale
    And 0 receipts were printed

  Scenario: A partial approval the merchant accepts: the rest is collected another way
    Given the host approves only 60.00 of the next sale
    When the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier keys in an amount of 100.00
    And the cashier takes payment by credit card accepting a partial approval
    Then the transaction is approved
    And the approved amount is 60.00
    And the terminal shows "PARTIAL APPROVAL 60.00 - COLLECT 40.00"
    And the host received 0 messages of MTI 0400
    And the customer copy shows these lines:
      | label  | value                           |
      | AMOUNT | CNY 60.00                       |
      | RESULT | PARTIAL APPROVAL 60.00/100.00   |

  Scenario: The basket total is what goes to the host, not a keyed figure
    When the cashier scans these products:
      | product   | qty |
      | green tea | 3   |
      | bread     | 1   |
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the approved amount is 18.50
    And field 4 of the last request was "000000001850"
    And the customer copy shows " green tea x3                        10.50"
