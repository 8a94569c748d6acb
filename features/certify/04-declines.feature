@certify
Feature: CERT-T04 Declines and host maintenance
  A declined sale is over: the terminal must not reverse it, and must not
  count it in its batch (the settlement case checks the totals).

  Scenario: T04.1 Decline for insufficient funds (51)
    Given the host declines the next sale with "51"
    When the operator sells 25.00 with card "mc-debit" by chip with PIN "1234"
    Then the host answered the sale "51"
    And the terminal did not reverse the sale
    And every message the terminal sent is well formed

  Scenario: T04.2 Wrong PIN (55)
    When the operator sells 12.00 with card "visa-credit" by chip with PIN "9999"
    Then the host answered the sale "55"
    And the terminal sent a "0200" with these fields:
      | field        | value     |
      | 52 PIN block | (present) |
    And the terminal did not reverse the sale

  Scenario: T04.3 Host in maintenance (91)
    Given the host is in maintenance
    When the operator sells 10.00 with card "visa-credit" by tap
    Then the host answered the sale "91"
    And the terminal did not reverse the sale
