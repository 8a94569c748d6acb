Feature: checkout screen
  The POS app shows the outcome of a card payment to the cashier.
  possim's steps run the lab; the last step is the team's own.

  Scenario: an approved card sale shows PAID
    Given the terminal is powered on and signed on
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the POS app shows "PAID"
    And the merchant's account balance is 99.40

  Scenario: a card reported lost is declined 41
    Given the terminal is powered on and signed on
    And card "visa-credit" is reported lost at the issuer
    When the customer pays 25.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is declined with response code "41"
    And the POS app shows "NOT PAID: 41 LOST CARD - PICK UP"
