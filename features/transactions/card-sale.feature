@transactions
Feature: Card sales
  The cashier keys or scans the basket, the customer pays by card, the host
  authorises, and the merchant and customer receipts are printed.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A chip and PIN credit sale is approved and credited at once
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal shows "APPROVED"
    And the terminal sent these messages:
      | mti  | 3      | 4            | 39 |
      | 0200 | 000000 | 000000010000 |    |
      | 0210 | 000000 | 000000010000 | 00 |

  Scenario Outline: Declines show their reason
    When the customer pays <amount> by <method> "<card>" by chip with PIN "1234"
    Then the transaction is declined with response code "<code>"
    And the terminal shows "<text>"

    Examples:
      | card    | method      | amount | code | text         |
      | expired | debit card  | 10.00  | 54   | EXPIRED CARD |
      | lost    | debit card  | 10.00  | 41   | LOST CARD    |
      | mc-debit| debit card  | 2500.00| 51   | INSUFFICIENT |
