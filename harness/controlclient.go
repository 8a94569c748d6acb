package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/possim/possim/virtualdevices/printer"
)

// ControlClient drives the devices of a separate `possim devices` through
// its control API (docs/control-api.md), so that scenarios can act as the
// customer while real POS software sits on the ptys. It is a Devices.
type ControlClient struct {
	addr  string // as the user gave it, for messages
	base  string // http://HOST:PORT
	token string
	http  *http.Client
	// since is the last receipt cut before Reset: Receipts returns only
	// the ones after it, this run's.
	since int
}

// NewControlClient returns a client for the control API at addr
// (HOST:PORT or http://HOST:PORT); token, if set, is sent as a bearer
// token (POSSIM_TOKEN of possim devices).
func NewControlClient(addr, token string) *ControlClient {
	base := strings.TrimSuffix(addr, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		base = "http://" + base
	}
	// Each request is one operator action or one look: a few seconds is
	// generous on loopback and keeps a hung API from hanging a run.
	return &ControlClient{addr: addr, base: base, token: token, http: &http.Client{Timeout: 10 * time.Second}}
}

// Reset puts every device back to a fresh start (paper in, cover closed,
// no card, pad and scanner working: POST /api/reset) and remembers the
// last receipt cut, so that Receipts returns only the ones after it.
func (c *ControlClient) Reset(ctx context.Context) error {
	var out struct {
		LastReceipt int `json:"last_receipt"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/reset", nil, &out); err != nil {
		return fmt.Errorf("resetting the devices: %w", err)
	}
	c.since = out.LastReceipt
	return nil
}

// Act posts the action to /api/DEVICE/ACTION.
func (c *ControlClient) Act(ctx context.Context, device, action, arg string) error {
	body := map[string]string{}
	switch device + " " + action {
	case "cardreader insert", "cardreader tap", "cardreader swipe":
		body["card"] = arg
	case "pinpad type":
		body["pin"] = arg
	case "scanner scan":
		body["code"] = arg
	}
	if err := c.do(ctx, http.MethodPost, "/api/"+device+"/"+action, body, nil); err != nil {
		return fmt.Errorf("%s %s: %w", device, action, err)
	}
	return nil
}

// PrinterStatus reads the printer's part of GET /api/status.
func (c *ControlClient) PrinterStatus(ctx context.Context) (printer.Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/api/status", nil, &st); err != nil {
		return printer.Status{}, fmt.Errorf("printer status: %w", err)
	}
	p := st.Printer
	if p == nil {
		return printer.Status{}, fmt.Errorf("printer status: the control API at %s has no printer", c.addr)
	}
	return printer.Status{Online: p.Online, CoverOpen: p.CoverOpen, PaperNearEnd: p.PaperNearEnd,
		PaperOut: p.PaperOut, Error: p.Error}, nil
}

// PINPadDisplay reads the PIN pad's part of GET /api/status.
func (c *ControlClient) PINPadDisplay(ctx context.Context) (string, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/api/status", nil, &st); err != nil {
		return "", fmt.Errorf("PIN pad display: %w", err)
	}
	if st.PINPad == nil {
		return "", fmt.Errorf("PIN pad display: the control API at %s has no PIN pad", c.addr)
	}
	return st.PINPad.Display, nil
}

// Receipts reads GET /api/printer/receipts?format=json and keeps the
// receipts cut since Reset.
func (c *ControlClient) Receipts(ctx context.Context) ([]printer.Receipt, error) {
	var list []struct {
		Seq  int       `json:"seq"`
		Time time.Time `json:"time"`
		Text string    `json:"text"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/printer/receipts?format=json", nil, &list); err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	var out []printer.Receipt
	for _, r := range list {
		if r.Seq > c.since {
			out = append(out, printer.Receipt{Seq: r.Seq, Time: r.Time, Text: r.Text})
		}
	}
	return out, nil
}

// do sends one request and decodes the JSON answer into out (if not nil).
// An error answer becomes an error carrying the API's own message.
func (c *ControlClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("control API at %s: %w", c.addr, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("control API at %s: connection refused — start possim devices --control %s", c.addr, c.addr)
		}
		return fmt.Errorf("control API at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("control API at %s: reading the answer: %w", c.addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		if resp.StatusCode == http.StatusUnauthorized {
			e.Error += " (set POSSIM_TOKEN to the token of possim devices)"
		}
		return fmt.Errorf("control API at %s: %s: %s", c.addr, resp.Status, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control API at %s: bad answer to %s %s: %w", c.addr, method, path, err)
		}
	}
	return nil
}
