@certify
Feature: CERT-T05 Reversals
  When the host's answer does not come, or comes wrong, the terminal
  reverses the sale (0400) with the original's MTI, STAN and transmission
  time in field 90, and repeats the reversal (0401) until the host answers
  it, before any new transaction. The windows allow a terminal's usual
  30-second response timeout.

  Scenario: T05.1 Host timeout: the sale is reversed
    Given the host does not answer the next sale
    When the operator sells 60.00 with card "visa-credit" by tap
    Then the terminal reversed the sale within 45 seconds with reason "98"
    And the terminal sent no new transaction before the reversal was answered
    And every message the terminal sent is well formed

  @lost-reversal
  Scenario: T05.2 Unanswered reversal: repeated until answered, before the next sale
    Given the host does not answer the next sale nor the first reversal
    When the operator sells 70.00 with card "visa-credit" by tap
    Then the terminal reversed the sale within 45 seconds with reason "98"
    When the operator sells 7.00 with card "visa-credit" by tap
    Then the terminal repeated the reversal as "0401" until the host answered it
    And the terminal sent no new transaction before the reversal was answered
    And the host answered the sale "00"
    And every message the terminal sent is well formed

  Scenario: T05.3 Amount mismatch: the approval for another amount is reversed
    Given the host approves the next sale for 10.00 instead
    When the operator sells 80.00 with card "visa-credit" by tap
    Then the terminal reversed the sale within 45 seconds with reason "06"
    And every message the terminal sent is well formed

  Scenario: T05.4 Late answer: the sale is reversed before the answer comes
    Given the host answers the next sale 40 seconds late
    When the operator sells 90.00 with card "visa-credit" by tap
    Then the terminal reversed the sale within 35 seconds with reason "98"
    And the terminal sent no new transaction before the reversal was answered
