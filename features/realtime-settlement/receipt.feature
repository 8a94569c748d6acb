@realtime-settlement @receipts
Feature: The terminal tells the merchant how a sale settles
  docs/merchant-flow.md §2, "the terminal enables the real-time option and the
  setting is verified". The terminal has no settlement setting of its own:
  the host says in field 63 of its answer whether the sale was credited at
  once ("D0") or waits for the cut-off ("T1"), and the terminal prints the
  settlement line on both copies of the receipt.

  Background:
    Given a lab with the default profile

  Scenario: A real-time sale prints the D0 line
    Given the terminal is powered on and signed on
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction settles D0
    And the terminal sent these messages:
      | mti  | 39 | 63 |
      | 0210 | 00 | D0 |
    And the printed merchant copy of the last transaction shows:
      | SETTLEMENT | REAL-TIME (D0) |
    And the printed customer copy of the last transaction shows:
      | SETTLEMENT | REAL-TIME (D0) |
    And the merchant's account is credited 99.40 at once

  Scenario: A QR sale of a real-time merchant prints the D0 line
    Given the terminal is powered on and signed on
    When the customer pays 88.00 with QR payment code "281234567890123456"
    Then the transaction settles D0
    And the printed customer copy of the last transaction shows:
      | TXN TYPE   | QR SALE        |
      | SETTLEMENT | REAL-TIME (D0) |

  Scenario: A sale over the real-time limit prints the T+1 line
    Given the real-time limits are set to 500.00 per transaction and 1,000.00 per day
    And the terminal is powered on and signed on
    When the customer pays 600.00 by credit card "visa-credit" by tap
    Then the transaction settles T1
    And the printed customer copy of the last transaction shows:
      | SETTLEMENT | NEXT DAY (T+1) |
    And the last sale is pending for T+1

  Scenario: The receipt line follows the application from pending to approved
    Given the merchant has not applied for real-time settlement
    And the terminal is powered on and signed on
    When the merchant applies for real-time settlement with these documents:
      | document         |
      | business licence |
      | identity         |
    And the customer pays 10.00 by credit card "visa-credit" by tap
    Then the transaction settles T1
    And the printed merchant copy of the last transaction shows:
      | SETTLEMENT | NEXT DAY (T+1) |
    When the real-time settlement application is approved
    And the customer pays 10.00 by credit card "visa-credit" by tap
    Then the transaction settles D0
    And the printed merchant copy of the last transaction shows:
      | SETTLEMENT | REAL-TIME (D0) |
    And the merchant's account is credited 9.94 at once

  Scenario: The D0 line in Chinese
    Given the terminal prints receipts in Chinese
    And the terminal is powered on and signed on
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the printed customer copy of the last transaction shows:
      | 结算 | 实时到账 (D0) |
