@realtime-settlement @d0
Feature: Real-time (D0) credit of each sale
  docs/merchant-flow.md §2 and §3. Demo Mart is approved for real-time settlement:
  each approved sale is credited to its account at once, net of the fee
  (card 0.60 %, QR 0.38 %, rounded half up to the fen), within the
  real-time limits; above them the sale waits for the day's cut-off (T+1).
  Voids, refunds and reversals of a D0 sale take the money back at once.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A 100.00 card sale approved 00 is credited 99.40 at once
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the response code is "00"
    And the terminal sent these messages:
      | mti  | 3      | 4            | 39 |
      | 0200 | 000000 | 000000010000 |    |
      | 0210 | 000000 | 000000010000 | 00 |
    And the fee on the last sale is 0.60
    And the merchant's account is credited 99.40 at once
    And the last sale is credited D0
    And the ledger shows these postings:
      | type      | gross  | fee  | net   |
      | d0_credit | 100.00 | 0.60 | 99.40 |
    And ledger verify passes

  Scenario: A 100.00 QR sale is credited 99.62 at once
    When the customer pays 100.00 with QR payment code "281234567890123456"
    Then the transaction is approved
    And the fee on the last sale is 0.38
    And the merchant's account is credited 99.62 at once
    And the ledger shows these postings:
      | type      | gross  | fee  | net   |
      | d0_credit | 100.00 | 0.38 | 99.62 |

  Scenario Outline: The fee is rounded half up to the fen (<why>)
    When <payment>
    Then the transaction is approved
    And the fee on the last sale is <fee>
    And the merchant's account is credited <net> at once
    And ledger verify passes

    Examples:
      | why                          | payment                                                                | fee  | net    |
      | card, 0.498 fen rounds down  | the customer pays 0.83 by credit card "visa-credit" by tap             | 0.00 | 0.83   |
      | card, 0.504 fen rounds up    | the customer pays 0.84 by credit card "visa-credit" by tap             | 0.01 | 0.83   |
      | card, exactly half a fen     | the customer pays 2.50 by credit card "visa-credit" by tap             | 0.02 | 2.48   |
      | card, 4.5 fen                | the customer pays 7.50 by credit card "visa-credit" by tap             | 0.05 | 7.45   |
      | card, 7.404 fen              | the customer pays 12.34 by credit card "visa-credit" by tap            | 0.07 | 12.27  |
      | QR, exactly half a fen       | the customer pays 25.00 with QR payment code "281234567890123456"      | 0.10 | 24.90  |
      | QR, 28.5 fen                 | the customer pays 75.00 with QR payment code "281234567890123456"      | 0.29 | 74.71  |
      | QR, 4.6892 fen               | the customer pays 12.34 with QR payment code "281234567890123456"      | 0.05 | 12.29  |

  Scenario: A sale over the per-transaction real-time limit waits for the cut-off
    Given the real-time limits are set to 500.00 per transaction and 1,000.00 per day
    When the customer pays 600.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the last sale is pending for T+1
    And the merchant's account is not credited
    When the customer pays 400.00 by credit card "visa-credit" by tap
    Then the last sale is credited D0
    And the merchant's account is credited 397.60 at once
    When the day's cut-off runs
    Then the merchant's account is credited 596.40 at the cut-off

  Scenario: Once the daily real-time limit is used up, the rest waits for the cut-off
    Given the real-time limits are set to 500.00 per transaction and 1,000.00 per day
    When the customer pays 450.00 by credit card "visa-credit" by tap
    And the customer pays 450.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 894.60 at once
    When the customer pays 300.00 by credit card "visa-credit" by tap
    Then the last sale is pending for T+1
    And the merchant's account is not credited
    # 900.00 + 100.00 still fits the daily 1,000.00: a smaller sale goes D0 again.
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the last sale is credited D0
    And the merchant's account is credited 99.40 at once
    And the day's statement shows:
      | transactions | 4        |
      | gross        | 1,300.00 |
      | fees         | 7.80     |
      | net          | 1,292.20 |
      | settled D0   | 994.00   |
      | pending T+1  | 298.20   |

  Scenario: A merchant that settles T+1 only is credited at the cut-off
    Given the merchant settles T+1 only
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the last sale is pending for T+1
    And the merchant's account is not credited
    When the day's cut-off runs
    Then the merchant's account is credited 99.40 at the cut-off
    And the ledger shows these postings:
      | type       | gross  | fee  | net   |
      | t1_pending | 100.00 | 0.60 | 99.40 |
      | t1_credit  | 100.00 | 0.60 | 99.40 |
    And ledger verify passes

  Scenario: Voiding a D0 sale takes the money back at once
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 99.40 at once
    When the cashier voids the last sale
    Then the transaction is approved
    And the merchant's account is debited 99.40
    And the ledger shows these postings:
      | type       | gross  | fee  | net   |
      | d0_credit  | 100.00 | 0.60 | 99.40 |
      | reverse_d0 | 100.00 | 0.60 | 99.40 |
    And the merchant's account balance is 0.00
    And ledger verify passes

  Scenario: Refunding part of a D0 sale takes the refund back at once, fee returned
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 99.40 at once
    When the cashier refunds 10.00 of the last sale
    Then the transaction is approved
    And the merchant's account is debited 9.94
    And the ledger shows these postings:
      | type       | gross  | fee  | net   |
      | d0_credit  | 100.00 | 0.60 | 99.40 |
      | reverse_d0 | 10.00  | 0.06 | 9.94  |
    And the merchant's account balance is 89.46
    And ledger verify passes

  Scenario: A D0 sale reversed after a timeout is taken back at once
    Given the host journals the next sale but its answer never reaches the terminal
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is reversed
    And 0 reversals are pending
    And the merchant's account is not credited
    And the ledger shows these postings:
      | type       | gross  | fee  | net   |
      | d0_credit  | 100.00 | 0.60 | 99.40 |
      | reverse_d0 | 100.00 | 0.60 | 99.40 |
    And ledger verify passes

  Scenario: Voiding a T+1 sale cancels it before the cut-off
    Given the merchant settles T+1 only
    When the customer pays 45.90 with QR payment code "281234567890123456"
    And the cashier voids the last sale
    Then the transaction is approved
    When the day's cut-off runs
    Then the merchant's account is not credited
    And the ledger shows these postings:
      | type       | gross | fee  | net   |
      | t1_pending | 45.90 | 0.17 | 45.73 |
      | cancel_t1  | 45.90 | 0.17 | 45.73 |
    And ledger verify passes
