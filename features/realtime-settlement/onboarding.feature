@realtime-settlement @onboarding
Feature: Applying for real-time settlement
  docs/merchant-flow.md §2. A merchant that settles next day (T+1) applies for
  real-time settlement (D0, 实时到账) with its business licence and an
  identity document. While the application is pending, and after it is
  rejected, sales wait for the day's cut-off; once it is approved, each sale
  reaches the merchant's account, net of the fee, as soon as it is approved.

  Background:
    Given a lab with the default profile
    And the merchant has not applied for real-time settlement
    And the terminal is powered on and signed on

  Scenario: A merchant without an application settles next day
    Then the merchant's real-time settlement is not applied for
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the last sale is pending for T+1
    And the merchant's account is not credited
    When the day's cut-off runs
    Then the merchant's account is credited 99.40 at the cut-off
    And the last sale is credited at the cut-off

  Scenario: A pending application does not yet settle in real time
    When the merchant applies for real-time settlement with these documents:
      | document         |
      | business licence |
      | identity         |
    Then the merchant's real-time settlement is pending
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the last sale is pending for T+1
    And the merchant's account is not credited

  Scenario: An approved merchant is credited at once
    When the merchant applies for real-time settlement with these documents:
      | document           |
      | business licence   |
      | identity           |
      | bank account proof |
    And the real-time settlement application is approved
    Then the merchant's real-time settlement is approved
    When the customer pays 100.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the last sale is credited D0
    And the merchant's account is credited 99.40 at once

  Scenario: A rejected merchant keeps settling next day
    When the merchant applies for real-time settlement with these documents:
      | document         |
      | business licence |
      | identity         |
    And the real-time settlement application is rejected
    Then the merchant's real-time settlement is rejected
    When the customer pays 88.00 with QR payment code "281234567890123456"
    Then the transaction is approved
    And the last sale is pending for T+1
    And the merchant's account is not credited
    When the day's cut-off runs
    Then the merchant's account is credited 87.67 at the cut-off

  Scenario: After approval the real-time setting is verified with a test sale
    # The terminal has no real-time switch of its own: it shows what the host
    # says (field 63). The setting is verified by a small test sale that the
    # terminal reports as D0 and that reaches the account at once.
    Given the merchant applies for real-time settlement with these documents:
      | document         |
      | business licence |
      | identity         |
    And the real-time settlement application is approved
    And the real-time limits are set to 5,000.00 per transaction and 20,000.00 per day
    When the customer pays 1.00 by credit card "visa-credit" by tap
    Then the transaction is approved
    And the transaction settles D0
    And the printed merchant copy of the last transaction shows:
      | AMOUNT     | CNY 1.00       |
      | SETTLEMENT | REAL-TIME (D0) |
    And the fee on the last sale is 0.01
    And the merchant's account is credited 0.99 at once
    And the ledger shows these postings:
      | type      | gross | fee  | net  |
      | d0_credit | 1.00  | 0.01 | 0.99 |
    And ledger verify passes

  Scenario: Sales before the approval wait for the cut-off, sales after it do not
    Given the merchant applies for real-time settlement with these documents:
      | document         |
      | business licence |
      | identity         |
    When the customer pays 50.00 by credit card "visa-credit" by tap
    And the real-time settlement application is approved
    And the customer pays 20.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 19.88 at once
    And the day's statement shows:
      | transactions | 2     |
      | gross        | 70.00 |
      | fees         | 0.42  |
      | settled D0   | 19.88 |
      | pending T+1  | 49.70 |
    When the day's cut-off runs
    Then the merchant's account is credited 49.70 at the cut-off
