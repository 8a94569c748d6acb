package trace

import (
	"fmt"
	"strings"

	"github.com/possim/possim/card"
)

// deviceText shows device bytes as quoted text, control bytes escaped,
// and every run of 12 to 19 digits (a PAN on a track, say) masked to its
// first 6 and last 4: a recording of a card reader holds card data.
func deviceText(b []byte) string {
	var out strings.Builder
	out.WriteByte('"')
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i >= 12 {
			out.WriteString(card.MaskPAN(string(b[i:j])))
			i = j
			continue
		}
		if j > i {
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
