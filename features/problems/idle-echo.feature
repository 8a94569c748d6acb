@problems @idle-echo
Feature: The terminal keeps an idle link alive with echo tests
  A terminal set to echo an idle link sends an echo test (0800 with field
  70 = 301) when no message went either way for that long; the host
  answers 0810 with 39 = 00. An echo not answered within the response
  timeout marks the link down: the terminal hangs up and dials again before
  the next transaction.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on
    And the terminal sends an echo test after 30s idle

  Scenario: An idle link gets an echo every 30 seconds
    When 100s pass with the terminal idle
    Then the terminal sent 3 idle echo tests, answered "00"

  Scenario: A sale counts as traffic
    When 20s pass with the terminal idle
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    And 20s pass with the terminal idle
    Then the terminal sent 0 idle echo tests

  Scenario: An unanswered echo marks the link down; the next sale dials again
    Given the host stops answering
    When 90s pass with the terminal idle
    Then the terminal sent 1 idle echo test
    And the terminal marked the host link down
    When the host answers again
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal dialled the host again before the next "0200"
