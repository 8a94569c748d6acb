@transactions @key-change
Feature: The terminal changes its PIN key when the host asks or when it is due
  The host asks for a new PIN working key in field 53 of its answers
  ("0100000000000000") until the terminal sends a key change (0800 with
  field 70 = 101). The 0810 carries the new key in field 62 under the
  terminal master key, as at sign-on; the terminal loads it into the PIN
  pad and the next PIN blocks are made under it. A terminal may also change
  its key on a schedule: every N transactions or after a time.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: The host asks for a key change; the next sale goes under the new key
    Given the host asks the terminal for a key change
    When the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And field 53 of the last "0210" answer was "0100000000000000"
    And the terminal sent 0 key changes
    When the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal sent 1 key change
    And the PIN pad holds the key of the last key change
    And the host has no key change pending
    And field 53 of the last "0210" answer was ""

  Scenario: The terminal changes its key every 2 transactions
    Given the terminal changes its PIN key every 2 transactions
    When the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    And the customer takes the card out
    And the customer pays 11.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the terminal sent 0 key changes
    When the customer takes the card out
    And the customer pays 12.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal sent 1 key change
    And the PIN pad holds the key of the last key change

  Scenario: The terminal changes a key older than its interval
    Given the terminal changes its PIN key every 2m
    When 3m pass with the terminal idle
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal sent 1 key change
    And the PIN pad holds the key of the last key change

  Scenario: A key change the host does not answer stops the sale before it starts
    Given the host asks the terminal for a key change
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    And the host does not answer the next message "0800"
    When the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the terminal shows "KEY CHANGE FAILED - TRY AGAIN"
    And the terminal sent 1 key change
    When the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal sent 2 key changes
    And the PIN pad holds the key of the last key change
    And the host has no key change pending
