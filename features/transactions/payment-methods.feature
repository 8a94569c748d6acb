@transactions @payment
Feature: Payment methods and card reading
  The cashier picks credit card, debit card or mobile payment (the
  customer's QR payment code is scanned). A card is read by chip, tap or
  swipe: a swiped chip card is asked into the slot, a failed chip read falls
  back to the stripe (field 22 = 80x), a small contactless payment needs no
  PIN, and a card without a PIN is signed for.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario Outline: Credit and debit cards by chip and PIN
    When the customer pays <amount> by <method> "<card>" by chip with PIN "1234"
    Then the transaction is approved
    And the card was read by chip
    And the transaction was paid by PIN
    And field 22 of the last request was "051"
    And the customer copy shows these lines:
      | label     | value   |
      | CARD TYPE | <type>  |
      | ENTRY     | CHIP    |

    Examples:
      | card        | method      | amount | type   |
      | visa-credit | credit card | 250.00 | CREDIT |
      | mc-debit    | debit card  | 99.90  | DEBIT  |
      | cup-debit   | debit card  | 45.90  | DEBIT  |

  Scenario: A small contactless payment needs no PIN and no signature
    When the customer taps card "visa-credit"
    And the cashier keys in an amount of 58.00
    And the cashier takes payment by credit card
    Then the transaction is approved
    And the card was read by tap
    And the transaction was paid by no cardholder verification
    And the terminal has not shown "ENTER PIN"
    And field 22 of the last request was "072"
    And the merchant copy shows "NO SIGNATURE REQUIRED"

  Scenario: A contactless payment above the quick-pass limit asks for the PIN
    When the customer taps card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier keys in an amount of 1,500.00
    And the cashier takes payment by credit card
    Then the transaction is approved
    And the transaction was paid by PIN
    And field 22 of the last request was "071"

  Scenario: A chip card that is swiped is asked into the slot
    When the customer swipes card "visa-credit"
    And the customer inserts card "visa-credit" when the terminal asks again
    And the customer enters PIN "1234"
    And the cashier keys in an amount of 30.00
    And the cashier takes payment by credit card
    Then the terminal has shown "CHIP CARD - PLEASE INSERT CARD"
    And the transaction is approved
    And the card was read by chip
    And field 22 of the last request was "051"

  Scenario: A chip that cannot be read falls back to the stripe
    Given the chip of the next card cannot be read
    When the customer inserts card "mc-debit"
    And the customer swipes card "mc-debit"
    And the customer enters PIN "1234"
    And the cashier keys in an amount of 12.00
    And the cashier takes payment by debit card
    Then the terminal has shown "CHIP READ ERROR - SWIPE CARD"
    And the transaction is approved
    And the card was read by fallback
    And field 22 of the last request was "801"
    And the merchant copy shows these lines:
      | label | value          |
      | ENTRY | FALLBACK SWIPE |

  Scenario: A magstripe card without a PIN is signed for
    When the customer swipes card "swipe-only"
    And the cashier keys in an amount of 75.00
    And the cashier takes payment by debit card and the customer signs
    Then the transaction is approved
    And the card was read by swipe
    And the transaction was paid by signature
    And the terminal has not shown "ENTER PIN"
    And field 22 of the last request was "902"
    And the merchant copy shows "CARDHOLDER SIGNATURE:"
    And the merchant copy shows "I AGREE TO PAY THE ABOVE TOTAL AMOUNT"

  Scenario: Mobile payment with a scanned QR payment code
    When the cashier scans these products:
      | product | qty |
      | bread   | 2   |
    And the cashier scans the customer's payment code "281234567890123456"
    And the cashier takes payment by QR code
    Then the transaction is approved
    And the card was read by qr
    And the approved amount is 16.00
    And the terminal has shown "SCAN CUSTOMER PAYMENT CODE"
    And field 22 of the last request was "032"
    And field 48 of the last request was "2812**********3456"
    And the customer copy shows these lines:
      | label        | value              |
      | PAYMENT CODE | 2812**********3456 |
      | ENTRY        | QR CODE            |
      | CARD TYPE    | QR WALLET          |

  Scenario: Mobile payment above the wallet's balance is declined
    When the customer pays 1,200.00 with QR payment code "281234567890123456"
    Then the transaction is declined with response code "51"
    And the terminal shows "DECLINED 51: INSUFFICIENT FUNDS"
