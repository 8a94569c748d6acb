package bridge

import (
	"fmt"
	"strings"

	"github.com/possim/possim/card"
)

// Text shows device bytes as quoted text for reports and traces: control
// bytes escaped, and every run of 12 or more digits masked (a PAN on a
// track to its first 6 and last 4, a longer run wholly), because a
// recording of a card reader holds card data and what shows it must not.
func Text(b []byte) string {
	var out strings.Builder
	out.WriteByte('"')
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		switch {
		case j-i >= 12:
			out.WriteString(card.MaskPAN(string(b[i:j])))
			i = j
			continue
		case j > i:
			out.Write(b[i:j])
			i = j
			continue
		}
		c := b[i]
		switch {
		case c == '"' || c == '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			out.WriteByte(c)
		default:
			fmt.Fprintf(&out, "\\x%02x", c)
		}
		i++
	}
	out.WriteByte('"')
	return out.String()
}
