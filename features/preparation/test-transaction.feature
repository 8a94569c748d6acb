@preparation @test-transaction
Feature: Test transaction
  A one-fen sale with a test card proves the whole chain: reader, PIN pad,
  host, printer. The amount and currency are checked on the wire and on the
  receipt (the fee is checked against the ledger in the settlement features).

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A 0.01 test sale goes through end to end
    When the customer pays 0.01 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the approved amount is 0.01
    And field 4 of the last request was "000000000001"
    And field 49 of the last request was "156"
    And field 39 of the last answer was "00"
    And 2 receipts were printed
    And the customer copy shows these lines:
      | label  | value    |
      | AMOUNT | CNY 0.01 |
      | RESULT | APPROVED |
    And the terminal's log shows the last transaction as approved for 0.01
