@certify
Feature: CERT-T02 Card and QR sales
  One approved sale per way of reading the card: chip with online PIN,
  contactless, magnetic stripe, and a QR payment code. The host approves;
  the plan checks what the terminal put in each field.

  Scenario: T02.1 Chip sale with online PIN
    When the operator sells 12.34 with card "visa-credit" by chip with PIN "1234"
    Then the host answered the sale "00"
    And the terminal sent a "0200" with these fields:
      | field               | value        |
      | 2 PAN               | /\d{6}\*+\d{4}/ |
      | 3 processing code   | 000000       |
      | 4 amount            | 000000001234 |
      | 22 entry mode       | 051          |
      | 49 currency         | 156          |
      | 52 PIN block        | (present)    |
      | 55 ICC data         | (present)    |
    And every message the terminal sent is well formed

  Scenario: T02.2 Contactless sale
    When the operator sells 20.00 with card "visa-credit" by tap
    Then the host answered the sale "00"
    And the terminal sent a "0200" with these fields:
      | field             | value        |
      | 3 processing code | 000000       |
      | 4 amount          | 000000002000 |
      | 22 entry mode     | /07\d/       |
      | 52 PIN block      | (absent)     |
    And every message the terminal sent is well formed

  Scenario: T02.3 Magnetic stripe sale with signature
    When the operator sells 30.00 with card "swipe-only" by swipe
    Then the host answered the sale "00"
    And the terminal sent a "0200" with these fields:
      | field             | value        |
      | 4 amount          | 000000003000 |
      | 22 entry mode     | /90\d/       |
      | 35 track 2        | (present)    |
      | 55 ICC data       | (absent)     |
    And every message the terminal sent is well formed

  Scenario: T02.4 QR code sale
    When the operator sells 45.90 with QR payment code "281234567890123456"
    Then the host answered the sale "00"
    And the terminal sent a "0200" with these fields:
      | field             | value              |
      | 3 processing code | 000000             |
      | 4 amount          | 000000004590       |
      | 22 entry mode     | /03\d/             |
      | 48 payment code   | 2812**********3456 |
    And every message the terminal sent is well formed
