@certify
Feature: CERT-T06 Settlement
  The terminal's batch totals (0500: 74/86 sales, 76/88 refunds) must match
  what the host journaled: approved sales, completions and QR sales, less
  what was voided or reversed; refunds apart. When the host finds the batch
  out of balance (95) the terminal uploads every transaction (0320) and
  settles again.

  Scenario: T06.1 Settlement in balance
    When the operator settles the batch
    Then the host answered the settlement "00"
    And the settlement totals match the host's journal
    And every message the terminal sent is well formed

  Scenario: T06.2 Settlement out of balance, batch upload, then in balance
    Given the operator sells 11.00 with card "visa-credit" by tap
    And the operator sells 22.00 with card "visa-credit" by tap
    And the host finds the next settlement out of balance
    When the operator settles the batch
    Then the host answered the settlement "95"
    And the terminal uploaded its batch and settled again in balance
    And the settlement totals match the host's journal
    And every message the terminal sent is well formed
