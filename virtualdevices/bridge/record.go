package bridge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Record is one line of a bridge recording.
type Record struct {
	T   string `json:"t"`             // RFC 3339 with nanoseconds, UTC
	Dir Dir    `json:"dir,omitempty"` // absent on events
	Hex string `json:"hex,omitempty"` // bytes as read from the source side
	// Fault names what was done to these bytes: "delay", "drop", "corrupt",
	// "disconnect", or "no-client" (device bytes with no POS connected).
	Fault string `json:"fault,omitempty"`
	Sent  string `json:"sent,omitempty"`  // hex actually forwarded, when a fault changed it
	Event string `json:"event,omitempty"` // "pos-connected", "pos-disconnected", "device-closed"
}

// CreateRecord creates (or truncates) a recording file with mode 0600: it
// may hold card data.
func CreateRecord(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating bridge record: %w", err)
	}
	// An existing file keeps its mode on O_TRUNC; tighten it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("creating bridge record: %w", err)
	}
	return f, nil
}

// ReadRecords parses a recording. Errors name the line.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("bridge record line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading bridge record: %w", err)
	}
	return out, nil
}
