package harness

import (
	"encoding/base64"
	"fmt"
	"html"
	"regexp"

	qrcode "github.com/skip2/go-qrcode"
)

// qrBox is how the printer's HTML rendering draws a QR code: a box with
// its payload as text. The dashboard draws the code itself instead, so a
// phone held up to the screen reads what the customer's phone would.
var qrBox = regexp.MustCompile(`<div class="qr"[^>]*>QR<br>([^<]*)</div>`)

// receiptHTML is a receipt's HTML rendering with every QR box replaced by
// the QR code as a PNG data URI. A payload too long for a QR code keeps
// its box: the printer would have refused it too.
func receiptHTML(s string) string {
	return qrBox.ReplaceAllStringFunc(s, func(box string) string {
		payload := html.UnescapeString(qrBox.FindStringSubmatch(box)[1])
		png, err := qrcode.Encode(payload, qrcode.Medium, 168)
		if err != nil {
			return box
		}
		return fmt.Sprintf(`<img class="qr" width="168" height="168" alt="QR: %s" title="%s" src="data:image/png;base64,%s">`,
			html.EscapeString(payload), html.EscapeString(payload), base64.StdEncoding.EncodeToString(png))
	})
}
