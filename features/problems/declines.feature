@problems @declines
Feature: Sales that cannot complete
  The issuer declines: insufficient funds, over the card's per-transaction
  or daily limit, an expired, lost, stolen, restricted or blocked card, a
  wrong PIN, too many wrong PINs. Each decline shows its reason on the
  terminal, prints no receipt, and owes no reversal.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario Outline: The issuer declines and the terminal says why
    When the customer pays <amount> by <method> "<card>" by chip with PIN "1234"
    Then the transaction is declined with response code "<code>"
    And the terminal shows "<display>"
    And 0 receipts were printed
    And 0 reversals are pending

    Examples: funds and limits
      | card        | method      | amount    | code | display                            |
      | mc-debit    | debit card  | 2,000.01  | 51   | DECLINED 51: INSUFFICIENT FUNDS    |
      | cup-debit   | debit card  | 500.01    | 51   | DECLINED 51: INSUFFICIENT FUNDS    |
      | visa-credit | credit card | 20,000.01 | 61   | DECLINED 61: EXCEEDS AMOUNT LIMIT  |

    Examples: card status
      | card        | method      | amount    | code | display                                |
      | expired     | debit card  | 10.00     | 54   | DECLINED 54: EXPIRED CARD              |
      | lost        | debit card  | 10.00     | 41   | DECLINED 41: LOST CARD - PICK UP       |
      | stolen      | debit card  | 10.00     | 43   | DECLINED 43: STOLEN CARD - PICK UP     |
      | restricted  | debit card  | 10.00     | 57   | DECLINED 57: NOT PERMITTED TO CARDHOLDER |

  Scenario: Exactly the available balance is approved
    When the customer pays 2,000.00 by debit card "mc-debit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario Outline: A card reported at the issuer during the day is declined from then on
    Given the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    And the transaction is approved
    When card "visa-credit" is reported <status> at the issuer
    And the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is declined with response code "<code>"
    And the terminal shows "<display>"

    Examples:
      | status     | code | display                                  |
      | lost       | 41   | DECLINED 41: LOST CARD - PICK UP         |
      | stolen     | 43   | DECLINED 43: STOLEN CARD - PICK UP       |
      | restricted | 57   | DECLINED 57: NOT PERMITTED TO CARDHOLDER |
      | blocked    | 05   | DECLINED 05: DO NOT HONOUR               |

  Scenario: A wrong PIN is declined 55 and the customer may try again
    When the customer pays 10.00 by credit card "visa-credit" by chip with PIN "9999"
    Then the transaction is declined with response code "55"
    And the terminal shows "INCORRECT PIN - TRY AGAIN"
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario: The third wrong PIN blocks the card until the issuer resets it
    When the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1111"
    Then the response code is "55"
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "2222"
    Then the response code is "55"
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "3333"
    Then the transaction is declined with response code "75"
    And the terminal shows "DECLINED 75: PIN TRIES EXCEEDED"
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is declined with response code "75"
    When the issuer resets the PIN tries of card "visa-credit"
    And the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario: A card's daily number of sales is used up
    Given the test terminal sends 10 sales of 1.00 with card "cup-debit"
    And the host answered "00" to each of them
    When the customer pays 1.00 by debit card "cup-debit" by chip with PIN "1234"
    Then the transaction is declined with response code "65"
    And the terminal shows "DECLINED 65: EXCEEDS FREQUENCY LIMIT"
