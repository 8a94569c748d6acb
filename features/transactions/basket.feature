@transactions @basket
Feature: Building the basket
  Goods are scanned (barcode) or keyed in, with name, quantity and price;
  the terminal totals the basket and the receipt lists it.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: Three products are scanned and totalled
    When the cashier scans these products:
      | product   | qty |
      | green tea | 2   |
      | bread     | 1   |
      | rice 5 kg | 1   |
    And the customer inserts card "mc-debit"
    And the customer enters PIN "1234"
    And the cashier takes payment by debit card
    Then the transaction is approved
    And the approved amount is 60.90
    And the terminal has shown "TOTAL CNY 60.90"
    And field 4 of the last request was "000000006090"
    And the customer copy shows " green tea x2                         7.00"
    And the customer copy shows " bread x1                             8.00"
    And the customer copy shows " rice 5 kg x1                        45.90"
    And the customer copy shows these lines:
      | label  | value     |
      | AMOUNT | CNY 60.90 |

  Scenario: Products are scanned by barcode, one at a time
    When the cashier scans "6901234567922"
    And the cashier scans "6901234567892"
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the approved amount is 132.50
    And the terminal has shown "PHONE CHARGER 129.00"
    And the customer copy shows " phone charger x1"

  Scenario: An unknown barcode is refused and left out of the basket
    When the cashier scans "6900000000001"
    And the cashier scans "bread"
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the terminal has shown "UNKNOWN ITEM 6900000000001"
    And the approved amount is 8.00

  Scenario: A garbled scan is scanned again
    Given the scanner garbles the next read
    When the cashier scans "green tea"
    And the cashier scans "green tea"
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the terminal has shown "SCAN AGAIN"
    And the approved amount is 3.50

  Scenario: Items are keyed in when there is nothing to scan
    When the cashier keys in these items:
      | product       | qty |
      | rice 5 kg     | 2   |
      | phone charger | 1   |
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the approved amount is 220.80
    And the customer copy shows " rice 5 kg x2                        91.80"
    And the customer copy shows " phone charger x1                   129.00"

  Scenario: A keyed amount without items
    When the cashier keys in an amount of 1,234.56
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the approved amount is 1234.56
    And the terminal has shown "TOTAL CNY 1,234.56"
    And the customer copy does not show "ITEMS:"
