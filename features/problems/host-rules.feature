@problems @host-rules
Feature: The host's answers to requests a terminal should never send
  A bare test terminal sends the host what the virtual terminal cannot be
  made to send: an unknown terminal or merchant, a processing code the host
  does not support, a zero amount, a card number that fails the Luhn check
  or that no issuer knows, a forged chip cryptogram, a PIN block from a
  terminal that never signed on, a malformed frame, a duplicate, a reversal
  of a sale the host never saw. Each must get its own response code, as a
  certification plan checks.

  Background:
    Given a lab with the default profile

  Scenario Outline: Each bad request gets its response code
    When <request>
    Then the host answers "<code>"

    Examples: who is asking
      | request                                                                                 | code |
      | a test terminal "TERM9999" sends a sale of 10.00 with card "visa-credit"                | 58   |
      | the test terminal sends a sale of 10.00 with card "visa-credit" for merchant "999999999999999" | 03   |

    Examples: what is asked
      | request                                                                                 | code |
      | the test terminal sends a sale of 10.00 with card "visa-credit" and processing code "990000" | 12   |
      | the test terminal sends a sale of 0.00 with card "visa-credit"                          | 13   |
      | the test terminal sends a sale of 10.00 with card number "4761739001010011"             | 14   |
      | the test terminal sends a sale of 10.00 with card number "4000000000000002"             | 14   |
      | the test terminal sends a sale of 10.00 with card "visa-credit" and a forged cryptogram | 05   |
      | the test terminal sends a sale of 20,000.01 with card "visa-credit"                     | 61   |
      | a test terminal "LOAD0002" sends a sale of 10.00 with card "visa-credit" and PIN "1234" | 96   |
      | the test terminal sends a reversal of a sale the host never saw                         | 25   |
      | the test terminal sends a malformed request                                             | 30   |

  Scenario: A keyed sale with the right data is approved
    When the test terminal sends a sale of 10.00 with card "visa-credit"
    Then the host answers "00"

  Scenario: The same sale sent twice is a duplicate transmission
    Given the test terminal sends a sale of 10.00 with card "mc-debit"
    And the host answers "00"
    When the test terminal sends the same sale again
    Then the host answers "94"

  Scenario: PIN tries are counted by the issuer: 55, 55, then 75
    Given a test terminal "LOAD0003" signs on
    And the host answers "00"
    When the test terminal sends a sale of 10.00 with card "mc-debit" and PIN "0000"
    Then the host answers "55"
    When the test terminal sends a sale of 10.00 with card "mc-debit" and PIN "0000"
    Then the host answers "55"
    When the test terminal sends a sale of 10.00 with card "mc-debit" and PIN "0000"
    Then the host answers "75"
    When the test terminal sends a sale of 10.00 with card "mc-debit" and PIN "1234"
    Then the host answers "75"

  Scenario: The right PIN from a signed-on terminal is approved
    Given a test terminal "LOAD0004" signs on
    When the test terminal sends a sale of 10.00 with card "visa-credit" and PIN "1234"
    Then the host answers "00"

  Scenario: The card's daily count of sales: the eleventh is 65
    When the test terminal sends 10 sales of 1.00 with card "cup-debit"
    Then the host answered "00" to each of them
    When the test terminal sends a sale of 1.00 with card "cup-debit"
    Then the host answers "65"
