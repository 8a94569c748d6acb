package harness

// ReceiptHTMLForTest is receiptHTML for the external tests.
var ReceiptHTMLForTest = receiptHTML
