@transactions @pin-reentry
Feature: The customer enters the PIN again after an incorrect PIN
  A terminal that allows several PIN tries per sale asks for the PIN again
  when the issuer answers 55 (incorrect PIN). Each entry is a new 0200 with
  a new STAN and the new PIN block; the card read is kept. The issuer
  counts the wrong PINs across entries: the third wrong one is 75 (PIN
  tries exceeded), and the terminal stops there.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on
    And the terminal allows 3 PIN tries per sale

  Scenario: A wrong PIN, then the right one, in the same sale
    Given the customer enters PINs "1111" then "1234" one per prompt
    When the customer pays 10.00 by credit card "visa-credit" by chip
    Then the transaction is approved
    And the sale took 2 PIN entries, each sent in a new "0200" with a new STAN
    And the host answered the sale's PIN entries with "55" then "00"
    And the merchant copy shows "PIN ENTRIES"
    And 0 reversals are pending

  Scenario: Two wrong PINs, then the right one
    Given the customer enters a wrong PIN twice, then the right PIN of card "mc-debit"
    When the customer pays 10.00 by debit card "mc-debit" by chip
    Then the transaction is approved
    And the host answered the sale's PIN entries with "55", "55", "00"
    And the customer copy shows "PIN ENTRIES"

  Scenario: Three wrong PINs end the sale on 75
    Given the customer enters PINs "1111", "2222", "3333" one per prompt
    When the customer pays 10.00 by credit card "visa-credit" by chip
    Then the transaction is declined with response code "75"
    And the terminal shows "DECLINED 75: PIN TRIES EXCEEDED"
    And the sale took 3 PIN entries, each sent in a new "0200" with a new STAN
    And the host answered the sale's PIN entries with "55", "55", "75"
    And 0 receipts were printed

  Scenario: The customer gives up at the second prompt
    Given the customer enters PIN "1111"
    And the customer presses cancel when asked for the PIN again
    When the customer pays 10.00 by credit card "visa-credit" by chip
    Then the transaction is declined with response code "55"
    And the sale took 1 PIN entries, each sent in a new "0200" with a new STAN
    And 0 receipts were printed

  Scenario: A terminal that allows one PIN try ends the sale on 55
    Given the terminal allows 1 PIN tries per sale
    And the customer enters PINs "1111" then "1234" one per prompt
    When the customer pays 10.00 by credit card "visa-credit" by chip
    Then the transaction is declined with response code "55"
    And the terminal shows "INCORRECT PIN - TRY AGAIN"
    And the sale took 1 PIN entries, each sent in a new "0200" with a new STAN
