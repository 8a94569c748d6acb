@problems @network
Feature: Network down or slow between terminal and host
  The link between terminal and host suffers the faults Toxiproxy names:
  latency (with jitter), bandwidth, slicer, slow_close, timeout, reset_peer,
  limit_data and down. A slow link that still answers within the
  terminal's 30-second response timeout only makes the sale slow; a request
  that may have reached the host but got no answer is reversed (0400, then
  0401 repeats before the next transaction); a link that is down before
  anything is sent fails the sale without a reversal.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: A slow network delays the sale but it is approved
    Given the network adds 5s of latency with 1s of jitter
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal showed "APPROVED" at least 8s after "PROCESSING"
    And 0 reversals are pending

  Scenario: A narrow link still carries the sale
    Given the link is limited to 1 KB/s
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal showed "APPROVED" at least 200ms after "PROCESSING"

  Scenario: Messages cut into small pieces are put back together
    Given the network slices data into 8-byte pieces
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the host received 1 message of MTI 0200
    And field 4 of the last answer was "000000002000"

  Scenario: A connection that closes slowly keeps the terminal waiting, then reversing
    Given the network closes connections slowly, after 10s
    And the host closes the connection on the next sale
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the terminal showed "NO RESPONSE" at least 10s after "PROCESSING"
    And the host received a 0400 reversal for the last sale
    And 0 reversals are pending

  Scenario: The network swallows data: the sale and its reversal go unanswered
    Given the network stops carrying data
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the host received 0 messages of MTI 0200
    And 1 reversal is pending
    And the reversal was sent 1 time
    When the network comes back
    And the customer takes the card out
    And the customer pays 5.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the host answered the last "0401" with "25"
    And 0 reversals are pending

  Scenario: The network resets the connection after the request left
    Given the network resets connections
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And 1 reversal is pending
    And the terminal has shown "REVERSAL PENDING - WILL RETRY"

  Scenario: The link carries only part of the request
    Given the link is limited to 100 bytes
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the host received 0 messages of MTI 0200
    And 1 reversal is pending

  Scenario: The network is down before the sale is sent: no reversal is owed
    Given the network is down
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is failed
    And the terminal shows "LINK DOWN - TRY AGAIN LATER"
    And the terminal raised an alert "host link down"
    And 0 reversals are pending
    And the host received 0 messages of MTI 0200

  Scenario Outline: Any link fault by its Toxiproxy name, upstream only
    Given the network suffers "<fault>" of <amount> upstream
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is <outcome>

    Examples:
      | fault      | amount   | outcome  |
      | latency    | 2s       | approved |
      | bandwidth  | 2 KB/s   | approved |
      | slicer     | 16 bytes | approved |
      | limit_data | 64 bytes | reversed |
      | timeout    | 5s       | reversed |
      | reset_peer | 1s       | reversed |
