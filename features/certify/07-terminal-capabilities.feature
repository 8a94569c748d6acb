@certify
Feature: CERT-T07 PIN re-entry, PIN key change and idle echo
  What a terminal does beyond one request and its answer: it asks for the
  PIN again after an incorrect PIN (55), each entry a new 0200 with a new
  STAN, and stops when the host answers 75 (PIN tries exceeded); it changes
  its PIN key (0800 70=101) when the host asks in field 53, before its next
  sale, and makes that sale's PIN block under the new key; an idle link
  gets an echo test (0800 70=301). The terminal under test allows at least
  4 PIN entries per sale, and echoes its link after 3 seconds idle for the
  echo case.

  @pin-reentry
  Scenario: T07.1 PIN entered again after an incorrect PIN
    When the operator sells 10.00 with card "visa-credit" by chip with PINs "1111" then "1234"
    Then the terminal asked for the PIN again after each "55", each entry a new "0200" with a new STAN
    And the host answered the PIN entries "55" then "00"
    And every message the terminal sent is well formed

  @pin-reentry
  Scenario: T07.2 PIN tries exceeded (75) ends the sale
    When the operator sells 10.00 with card "visa-credit" by chip with PINs "1111", "2222", "3333", "1234"
    Then the terminal asked for the PIN again after each "55", each entry a new "0200" with a new STAN
    And the host answered the PIN entries "55", "55", "75"
    And the terminal stopped at the "75": no PIN entry after it
    And the terminal did not reverse the sale

  @key-change
  Scenario: T07.3 PIN key change asked by the host, before the next sale
    Given the host asks the terminal for a key change
    When the operator sells 10.00 with card "visa-credit" by chip with PIN "1234"
    Then the host answered the sale "00"
    When the operator sells 20.00 with card "visa-credit" by chip with PIN "1234"
    Then the terminal changed its PIN key (0800 70=101) before its next sale
    And the sale after the key change was approved: its PIN verified under the new key
    And every message the terminal sent is well formed

  @idle-echo
  Scenario: T07.4 Idle echo keeps the link alive
    When the operator leaves the terminal idle for 8 seconds, set to send an echo test after 3 seconds idle
    Then the terminal sent an echo test (0800 70=301) after each 3 seconds idle, give or take 1
    And every message the terminal sent is well formed
