@problems @host
Feature: The bank host under maintenance, not answering or answering wrongly
  The host may be in a maintenance window (every request answered 91, or
  connections refused), may not answer at all, or may answer late, twice,
  with the wrong STAN or with an unreadable frame. A real terminal reverses
  whatever may have been approved without its knowing (0400 with 39 = 98),
  repeats the reversal as 0401 until the host answers it, and sends it
  before any other transaction.

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: Host maintenance answers 91 and the cashier is told to try later
    Given the host goes into maintenance
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is declined with response code "91"
    And the terminal shows "HOST UNAVAILABLE - TRY AGAIN LATER"
    And 0 reversals are pending
    When the host comes back
    And the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario: The host refuses connections during maintenance
    Given the host refuses connections
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is failed
    And the terminal shows "LINK DOWN - TRY AGAIN LATER"
    And 0 reversals are pending
    When the host comes back
    And the customer takes the card out
    And the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved

  Scenario: No answer within 30 seconds: the sale is reversed at once
    Given the host does not answer the next sale
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the terminal showed "NO RESPONSE - TRANSACTION REVERSED" at least 30s after "PROCESSING"
    And the terminal raised an alert "reversal queued"
    And the host received a 0400 reversal for the last sale
    And field 39 of the last "0400" request was "98"
    And the host answered the last "0400" with "00"
    And 0 reversals are pending

  Scenario: A host that stops answering gets the reversal repeated until it answers
    Given the host stops answering
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And 1 reversal is pending
    And the terminal shows "REVERSAL PENDING - WILL RETRY"
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the last operation failed with "reversal pending"
    And the terminal shows "REVERSAL PENDING - CHECK LINE, TRY LATER"
    And the reversal was sent 4 times
    And the host received 1 message of MTI 0200
    When the host answers again
    And the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the reversal was sent 5 times
    And 0 reversals are pending
    And the terminal sent these messages:
      | mti  | 39 |
      | 0401 |    |
      | 0410 | 00 |
      | 0200 |    |
      | 0210 | 00 |

  Scenario: A slow host that answers within the timeout is waited for
    Given the host answers the next sale after 12s
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the terminal showed "APPROVED" at least 12s after "PROCESSING"

  Scenario: A host too slow for the timeout: the late answer is ignored and the sale reversed
    Given the host answers the next sale after 45s
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the host received a 0400 reversal for the last sale

  Scenario Outline: A broken answer is treated as no answer and reversed
    Given <fault>
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the host received a 0400 reversal for the last sale
    And the host answered the last "0400" with "00"
    And 0 reversals are pending

    Examples:
      | fault                                               |
      | the host answers the next sale with a wrong STAN    |
      | the host answers the next sale with garbage         |
      | the host closes the connection on the next sale     |
      | the host resets the connection on the next sale     |

  Scenario: An answer sent twice is used once
    Given the host answers the next sale twice
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the host received 0 messages of MTI 0400
    And 2 receipts were printed

  Scenario: A reversal answered 91 during maintenance stays pending until the host is back
    Given the host stops answering
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then 1 reversal is pending
    When the host answers again
    And the host goes into maintenance
    And the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the last operation failed with "reversal pending"
    And the terminal raised an alert "refused 91"
    And 1 reversal is pending
    When the host comes back
    And the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And 0 reversals are pending
    And the reversal was sent 5 times

  Scenario: A reversal the host fails to process is repeated before the next sale
    Given the host does not answer the next sale
    And the host answers the next reversal with "96"
    When the customer pays 20.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is reversed
    And the host answered the last "0400" with "96"
    And 1 reversal is pending
    When the customer takes the card out
    And the customer pays 10.00 by credit card "visa-credit" by chip with PIN "1234"
    Then the transaction is approved
    And the host answered the last "0401" with "00"
    And 0 reversals are pending
    And the merchant's account balance is 9.94
