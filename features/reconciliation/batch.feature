@reconciliation @batch
Feature: Reconciling the terminal's batch with the host
  docs/merchant-flow.md §4. At the end of the day the cashier settles the batch:
  the terminal sends its totals (0500); the host compares them with its
  journal and answers 00 (balanced) or 95 (out of balance). On 95 the
  terminal uploads every transaction of the batch (0320) and sends the
  totals again. The discrepancy report compares the terminal's batch, or the
  merchant's own records, with the host's journal and names each difference.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A balanced batch closes at the first attempt
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 45.90 with QR payment code "281234567890123456"
    And the customer pays 20.00 by credit card "visa-credit" by tap
    Then the discrepancy report for the terminal's batch is empty
    When the cashier settles the batch
    Then the batch is balanced
    And the terminal uploaded 0 transactions before closing the batch
    And the batch totals are 3 sales for 165.90 and 0 refunds for 0.00
    And the host's batch totals are 3 sales for 165.90 and 0 refunds for 0.00
    And the terminal sent these messages:
      | mti  | 60     | 74 | 86    | 76 | 88 | 39 |
      | 0500 | 000001 | 3  | 16590 | 0  | 0  |    |
      | 0510 | 000001 | 3  | 16590 | 0  | 0  | 00 |
    And the terminal shows "SETTLED BATCH 000001 - BALANCED"
    And the printed settlement slip shows:
      | BATCH NO  | 000001   |
      | SALE x3   | 165.90   |
      | REFUND x0 | 0.00     |
      | RESULT    | BALANCED |

  Scenario: Voids and refunds are netted in the batch totals
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 88.00 with QR payment code "281234567890123456"
    And the cashier voids the last sale
    And the customer pays 50.00 by credit card "visa-credit" by tap
    And the cashier refunds 10.00 of the last sale
    Then the discrepancy report for the terminal's batch is empty
    When the cashier settles the batch
    Then the batch is balanced
    And the batch totals are 2 sales for 150.00 and 1 refund for 10.00
    And the host's batch totals are 2 sales for 150.00 and 1 refund for 10.00
    And the merchant's account balance is 139.16

  Scenario: Out of balance, the terminal uploads its batch and balances (95)
    Given the host's totals for the next reconciliation disagree
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 45.90 with QR payment code "281234567890123456"
    And the cashier settles the batch
    Then the batch is balanced
    And the terminal uploaded 2 transactions before closing the batch
    And the terminal sent these messages:
      | mti  | 3      | 4            | 39 |
      | 0500 |        |              |    |
      | 0510 |        |              | 95 |
      | 0320 | 000000 | 000000010000 |    |
      | 0330 | 000000 | 000000010000 | 00 |
      | 0320 | 000000 | 000000004590 |    |
      | 0330 | 000000 | 000000004590 | 00 |
      | 0500 |        |              |    |
      | 0510 |        |              | 00 |
    And the host's batch totals are 2 sales for 145.90 and 0 refunds for 0.00
    And ledger verify passes

  Scenario: A sale the host reversed on its own keeps the batch out of balance
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 50.00 by credit card "visa-credit" by tap
    And the host reverses the last sale in its journal
    Then the discrepancy report for the terminal's batch lists:
      | kind            | transaction | terminal amount | host amount |
      | missing_at_host | sale 2      | 50.00           | 50.00       |
    When the cashier settles the batch
    Then the batch is out of balance
    And the terminal uploaded 2 transactions before closing the batch
    And the terminal shows "BATCH OUT OF BALANCE - CALL THE ACQUIRER"
    And the host's batch totals are 1 sale for 100.00 and 0 refunds for 0.00
    And the merchant's account balance is 99.40
    And ledger verify passes

  Scenario: A sale only the host holds keeps the batch out of balance
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the host's journal holds an extra sale of 50.00 for this terminal
    Then the discrepancy report for the terminal's batch lists:
      | kind                | transaction | terminal amount | host amount |
      | missing_at_terminal | extra 1     | -               | 50.00       |
    When the cashier settles the batch
    Then the batch is out of balance
    And the terminal uploaded 1 transaction before closing the batch
    And the host's batch totals are 2 sales for 150.00 and 0 refunds for 0.00

  Scenario: A sale journaled twice at the host is reported as a duplicate
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 99.40 at once
    When the host's journal holds the last sale twice
    Then the merchant's account is credited 99.40
    And the discrepancy report for the terminal's batch lists:
      | kind      | transaction | terminal amount | host amount |
      | duplicate | sale 1      | -               | 100.00      |
    And ledger verify passes

  Scenario: A sale whose answer was lost and whose reversal never arrived
    Given the host's journal takes no reversals
    And the host journals the next sale but its answer never reaches the terminal
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is reversed
    And 1 reversal is pending
    And the merchant's account is credited 99.40 at once
    And the discrepancy report for the terminal's batch lists:
      | kind               | transaction | terminal amount | host amount |
      | unreversed_timeout | sale 1      | 100.00          | 100.00      |

  Scenario: The merchant's own records disagree with the host
    # The till's basket said 100.00; the cashier keyed 10.00 at the terminal.
    When the customer pays 10.00 by credit card "visa-credit" by tap
    And the customer pays 45.90 with QR payment code "281234567890123456"
    And the customer pays 20.00 by credit card "visa-credit" by tap
    And the merchant's own sales records for the batch are:
      | transaction | amount |
      | sale 1      | 100.00 |
      | qr 1        | 45.90  |
      | qr 1        | 45.90  |
    Then the discrepancy report for the merchant's records lists:
      | kind                | transaction | terminal amount | host amount |
      | amount_mismatch     | sale 1      | 100.00          | 10.00       |
      | duplicate           | qr 1        | 45.90           | -           |
      | missing_at_terminal | sale 2      | -               | 20.00       |
    And the discrepancy report for the terminal's batch is empty

  Scenario: Next-day sales are credited at the day's cut-off
    Given the merchant settles T+1 only
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 45.90 with QR payment code "281234567890123456"
    And the cashier settles the batch
    Then the batch is balanced
    And the merchant's account is not credited
    And the day's statement shows:
      | transactions | 2      |
      | gross        | 145.90 |
      | settled D0   | 0.00   |
      | settled T+1  | 0.00   |
      | pending T+1  | 145.13 |
    When the day's cut-off runs
    Then the merchant's account is credited 145.13 at the cut-off
    And the day's statement shows:
      | settled T+1 | 145.13 |
      | pending T+1 | 0.00   |
    And ledger verify passes
