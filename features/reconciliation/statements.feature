@reconciliation @statements
Feature: Daily, monthly and quarterly statements
  docs/merchant-flow.md §4, periodic reconciliation. The merchant's statement of a
  day, a month or a quarter counts the approved sales and sums their gross,
  fees and net, what was settled in real time (D0), what the cut-off
  credited (T+1) and what still waits for it; refunds and voids are counted
  apart. The business day is Monday 2026-06-15; earlier days come from the
  host's journal, so the periods hold more than one day.

  Background:
    Given a lab with the default profile
    And the host's journal already holds these sales of earlier days:
      | date       | method | amount |
      | 2026-03-31 | card   | 80.00  |
      | 2026-04-20 | card   | 200.00 |
      | 2026-05-05 | qr     | 50.00  |
      | 2026-06-01 | card   | 100.00 |
    And the terminal is powered on and signed on
    When the customer pays 100.00 by credit card "visa-credit" by tap
    And the customer pays 45.90 with QR payment code "281234567890123456"

  Scenario: The day's statement holds today's sales only
    Then the day's statement shows:
      | transactions | 2      |
      | gross        | 145.90 |
      | fees         | 0.77   |
      | net          | 145.13 |
      | settled D0   | 145.13 |
      | pending T+1  | 0.00   |
      | declined     | 0      |
    And the merchant's account is credited 145.13 at once

  Scenario: The month's statement adds the earlier days of June
    Then the month's statement shows:
      | transactions | 3      |
      | gross        | 245.90 |
      | fees         | 1.37   |
      | net          | 244.53 |
      | settled D0   | 244.53 |

  Scenario: The quarter's statement covers April to June
    Then the quarter's statement shows:
      | transactions | 5      |
      | gross        | 495.90 |
      | fees         | 2.76   |
      | net          | 493.14 |
      | settled D0   | 493.14 |
      | pending T+1  | 0.00   |

  Scenario Outline: A statement of another period is asked for by date
    Then the <period>'s statement for <date> shows:
      | transactions | <count> |
      | gross        | <gross> |
      | fees         | <fees>  |
      | net          | <net>   |

    Examples:
      | period  | date       | count | gross  | fees | net    |
      | day     | 2026-06-14 | 0     | 0.00   | 0.00 | 0.00   |
      | day     | 2026-06-01 | 1     | 100.00 | 0.60 | 99.40  |
      | month   | 2026-03-01 | 1     | 80.00  | 0.48 | 79.52  |
      | month   | 2026-05-31 | 1     | 50.00  | 0.19 | 49.81  |
      | quarter | 2026-01-15 | 1     | 80.00  | 0.48 | 79.52  |
      | quarter | 2026-07-01 | 0     | 0.00   | 0.00 | 0.00   |

  Scenario: Refunds and voids are counted apart and netted from the money
    When the cashier voids the last sale
    And the customer pays 20.00 by credit card "visa-credit" by tap
    And the cashier refunds 10.00 of the last sale
    Then the day's statement shows:
      | transactions | 3      |
      | gross        | 165.90 |
      | refunds      | 1      |
      | refunded     | 10.00  |
      | reversals    | 1      |
      | reversed     | 45.90  |
      | fees         | 0.66   |
      | net          | 109.34 |
      | settled D0   | 109.34 |
    And the merchant's account is credited 109.34 at once
    And ledger verify passes

  Scenario: A next-day merchant's month shows what still waits for the cut-off
    Given the merchant settles T+1 only
    When the customer pays 30.00 by credit card "visa-credit" by tap
    Then the merchant's account is credited 145.13 at once
    And the month's statement shows:
      | transactions | 4      |
      | gross        | 275.90 |
      | settled D0   | 244.53 |
      | pending T+1  | 29.82  |
    When the day's cut-off runs
    Then the month's statement shows:
      | settled T+1 | 29.82 |
      | pending T+1 | 0.00  |
    And the merchant's account is credited 29.82 at the cut-off
