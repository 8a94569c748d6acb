@transactions @receipts
Feature: Receipt content
  Every approved transaction prints a merchant copy and a customer copy:
  merchant name and number, terminal number, masked card number, entry
  mode, card and transaction type, batch, STAN, authorisation code,
  reference number, amount and result; a signature line when the
  cardholder signed. The full card number never appears. Receipts print in
  English or, for a Chinese merchant, in Chinese (GB18030).

  Background:
    Given a lab with the default profile
    And the terminal is powered on and signed on

  Scenario: The merchant copy carries every field a merchant must keep
    When the customer pays 100.00 by credit card "visa-credit" by chip with PIN "1234"
    Then 2 receipts were printed
    And the merchant copy shows these lines:
      | label         | value            |
      | MERCHANT NAME | Demo Mart        |
      | MERCHANT NO   | 123456789012345  |
      | TERMINAL NO   | TERM0001         |
      | CARD NO       | 476173******0010 |
      | ENTRY         | CHIP             |
      | CARD TYPE     | CREDIT           |
      | TXN TYPE      | SALE             |
      | BATCH NO      | {batch}          |
      | STAN          | {stan}           |
      | AUTH CODE     | {auth}           |
      | REF NO        | {rrn}            |
      | DATE/TIME     | 2026/06/15 {time}   |
      | AMOUNT        | CNY 100.00       |
      | RESULT        | APPROVED         |
    And the merchant copy shows "NO SIGNATURE REQUIRED"
    And the customer copy shows "CUSTOMER COPY"
    And the customer copy does not show "NO SIGNATURE REQUIRED"
    And no receipt shows a full card number

  Scenario: A signed sale prints the signature line on the merchant copy
    When the customer swipes card "swipe-only"
    And the cashier keys in an amount of 20.00
    And the cashier takes payment by debit card and the customer signs
    Then the merchant copy shows these lines:
      | label         | value            |
      | CARD NO       | 541333******0011 |
      | ENTRY         | SWIPE            |
      | CARD TYPE     | DEBIT            |
    And the merchant copy shows "CARDHOLDER SIGNATURE:"
    And the merchant copy shows "______________________________________"
    And no receipt shows a full card number

  Scenario: A declined sale prints nothing
    When the customer pays 10.00 by debit card "expired" by chip with PIN "1234"
    Then the transaction is declined with response code "54"
    And 0 receipts were printed

  Scenario: Receipts in Chinese
    Given the terminal prints receipts in Chinese
    When the cashier keys in these items:
      | product   | qty |
      | green tea | 2   |
    And the customer inserts card "visa-credit"
    And the customer enters PIN "1234"
    And the cashier takes payment by credit card
    Then the merchant copy shows "商户存根"
    And the customer copy shows "持卡人存根"
    And the merchant copy shows these lines:
      | label    | value            |
      | 商户名称 | Demo Mart        |
      | 卡号     | 476173******0010 |
      | 输入方式 | 插卡             |
      | 交易类型 | 消费             |
      | 凭证号   | {stan}           |
      | 金额     | CNY 7.00         |
      | 结果     | 交易成功         |
    And the customer copy shows " 绿茶 x2"
    And no receipt shows a full card number

  @locale-zh
  Scenario: A Chinese-locale lab prints Chinese receipts from the start
    When the customer pays 8.00 by debit card "mc-debit" by chip with PIN "1234"
    Then the customer copy shows "持卡人存根"
    And the customer copy shows these lines:
      | label  | value    |
      | 卡类别 | 借记卡   |
      | 金额   | CNY 8.00 |
