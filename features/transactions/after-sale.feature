@transactions @after-sale
Feature: Void, refund, pre-authorisation, reprint and the terminal's log
  After a sale the cashier may void it (same batch), refund part of it,
  complete a pre-authorisation for the final amount, reprint the last
  receipt and look transactions up in the terminal's log.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A sale is voided in the same batch
    Given the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    When the cashier voids the last sale
    Then the transaction is approved
    And the terminal sent these messages:
      | mti  | 3      | 4            | 39 |
      | 0200 | 020000 | 000000010000 |    |
      | 0210 | 020000 | 000000010000 | 00 |
    And the customer copy shows these lines:
      | label    | value       |
      | TXN TYPE | VOID        |
      | AMOUNT   | CNY -100.00 |
    And the terminal's log holds these transactions:
      | kind | amount | status   |
      | sale | 100.00 | voided   |
      | void | 100.00 | approved |

  Scenario: Part of a sale is refunded
    Given the customer pays 80.00 by debit card "mc-debit" by chip with PIN "1234"
    When the cashier refunds 30.00 of the last sale
    Then the transaction is approved
    And field 3 of the last request was "200000"
    And field 4 of the last request was "000000003000"
    And the customer copy shows these lines:
      | label    | value      |
      | TXN TYPE | REFUND     |
      | AMOUNT   | CNY -30.00 |

  Scenario: A pre-authorisation is completed for less than was reserved
    When the cashier pre-authorises 500.00 on "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And field 3 of the last request was "030000"
    When the cashier completes the pre-authorisation for 420.00
    Then the transaction is approved
    And the approved amount is 420.00
    And the terminal sent these messages:
      | mti  | 25 | 4            | 39 |
      | 0220 | 06 | 000000042000 |    |
      | 0230 | 06 | 000000042000 | 00 |
    And the customer copy shows these lines:
      | label    | value               |
      | TXN TYPE | PRE-AUTH COMPLETION |
      | AMOUNT   | CNY 420.00          |

  Scenario: The last receipt is reprinted, marked as a copy
    Given the customer pays 45.90 by debit card "cup-debit" by chip with PIN "1234"
    When the cashier reprints the last receipt
    Then 3 receipts were printed
    And the last receipt shows "*** REPRINT ***"
    And the reprint shows these lines:
      | label  | value     |
      | STAN   | {stan}    |
      | AMOUNT | CNY 45.90 |

  Scenario: The merchant looks transactions up in the terminal's log
    Given the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    And the customer takes the card out
    And the customer pays 2500.00 by debit card "mc-debit" by chip with PIN "1234"
    Then the terminal's log holds these transactions:
      | kind | amount  | status   | entry | cvm | response |
      | sale | 10.00   | approved | chip  | pin | 00       |
      | sale | 2500.00 | declined | chip  | pin | 51       |
    And the terminal's log shows the last transaction as declined for 2500.00
