@certify
Feature: CERT-T03 Void, refund, pre-authorisation and completion
  What follows a sale or a pre-authorisation: each refers to its original
  by STAN, which the plan takes from what the host approved.

  Scenario: T03.1 Void of a sale
    Given the operator sells 15.00 with card "visa-credit" by tap
    When the operator voids the last sale
    Then the host answered the void "00"
    And the terminal sent a "0200" with these fields:
      | field             | value        |
      | 3 processing code | 020000       |
      | 4 amount          | 000000001500 |
    And every message the terminal sent is well formed

  Scenario: T03.2 Partial refund of a sale
    Given the operator sells 50.00 with card "visa-credit" by tap
    When the operator refunds 5.00 of the last sale
    Then the host answered the refund "00"
    And the terminal sent a "0200" with these fields:
      | field             | value        |
      | 3 processing code | 200000       |
      | 4 amount          | 000000000500 |
    And every message the terminal sent is well formed

  Scenario: T03.3 Pre-authorisation and completion for less
    Given the operator pre-authorises 200.00 with card "visa-credit" by chip with PIN "1234"
    And the host answered the pre-authorisation "00"
    When the operator completes the pre-authorisation for 150.00
    Then the host answered the completion "00"
    And the terminal sent a "0100" with these fields:
      | field             | value        |
      | 3 processing code | 030000       |
      | 4 amount          | 000000020000 |
    And the terminal sent a "0220" with these fields:
      | field             | value        |
      | 4 amount          | 000000015000 |
      | 25 condition code | 06           |
    And every message the terminal sent is well formed
