@certify
Feature: CERT-T01 Sign-on
  The terminal under test signs on to the possim host and gets a session
  (PIN key) before it trades. Run by possim certify, never by possim run:
  the terminal here is real, the host is possim.

  Scenario: T01.1 Sign-on
    When the operator signs the terminal on
    Then the host answered the sign-on "00"
    And the terminal sent a "0800" with these fields:
      | field                  | value    |
      | 70 network code        | 001      |
      | 11 STAN                | /\d{6}/  |
      | 41 terminal ID         | TERM0001 |
    And every message the terminal sent is well formed
