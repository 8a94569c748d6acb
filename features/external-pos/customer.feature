@external-pos
Feature: The customer at real POS software
  The POS software is outside possim run: it sits on the ptys of possim
  devices and started a sale of 12.34 on its own. These steps are the
  customer, acting and looking through the devices' control API only.

    possim devices --dir ./possim-devices --control 127.0.0.1:7070
    (the POS software opens ./possim-devices/* and starts a sale of 12.34)
    possim run features/external-pos --devices ./possim-devices --control 127.0.0.1:7070 --pos external

  Scenario: The customer pays 12.34 by chip and PIN
    Given a lab with the default profile
    When the customer inserts card "visa-credit"
    Then the PIN pad shows "ENTER PIN"
    When the customer enters PIN "1234"
    Then a receipt is printed that shows "APPROVED"
    And a receipt is printed that shows "CNY 12.34"
    And no receipt shows a full card number
