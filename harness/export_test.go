package harness

import "net/http"

// ReceiptHTMLForTest is receiptHTML for the external tests.
var ReceiptHTMLForTest = receiptHTML

// DashboardHandlerForTest is the lab dashboard's HTTP handler.
func DashboardHandlerForTest(d *LabDashboard) http.Handler { return d.ctl }
