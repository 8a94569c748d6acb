package harness

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/possim/possim/simulators/iso"
)

// The dashboard is one self-contained page: no external assets, so it
// works on a lab machine without network access.
//
//go:embed dashboard.html
var dashboardPage []byte

func (c *Control) serveDashboard(w http.ResponseWriter, r *http.Request) {
	title := c.cfg.Title
	if title == "" {
		title = "possim devices"
	}
	writeDashboard(w, dashboardConfig{Title: title, Mode: "events"})
}

// dashboardConfig tells the page where its data comes from: "events" is
// the control API's status and event stream (possim devices, run, demo);
// "host" polls the host admin API's /api/requests.
type dashboardConfig struct {
	Title string `json:"title"`
	Mode  string `json:"mode"`
}

func writeDashboard(w http.ResponseWriter, cfg dashboardConfig) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "+frameNone)
	w.Write(dashboard(cfg))
}

// dashboard is the page with its configuration and the glossary its
// script names message fields with: the one table the reports and possim
// trace read too.
func dashboard(cfg dashboardConfig) []byte {
	g, err := json.Marshal(iso.NewGlossary())
	if err != nil {
		g = []byte("{}") // a map of strings always marshals; the page still works unnamed
	}
	c, err := json.Marshal(cfg)
	if err != nil {
		c = []byte("{}")
	}
	// json.Marshal escapes < and >, so no "</script>" can end the block early.
	page := bytes.Replace(dashboardPage, []byte("{{GLOSSARY}}"), g, 1)
	return bytes.Replace(page, []byte("{{CONFIG}}"), c, 1)
}

// wsWriteTimeout bounds one WebSocket write, so a client that stopped
// reading cannot hold its handler forever.
const wsWriteTimeout = 10 * time.Second

// wsClient is one WebSocket subscriber. fanout never blocks on it: when
// send is full the client is dropped, since a device event must never wait
// for a slow browser.
type wsClient struct {
	send   chan Event
	done   chan struct{}
	once   sync.Once
	reason string
}

func (cl *wsClient) drop(reason string) {
	cl.once.Do(func() {
		cl.reason = reason
		close(cl.done)
	})
}

// fanout is the Recorder watcher: it hands the event to every client
// without blocking.
func (c *Control) fanout(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cl := range c.clients {
		select {
		case cl.send <- e:
		default:
			c.log.Warn("dropping slow event stream client", "buffer", cap(cl.send))
			cl.drop("too slow: more than the buffered events behind")
			delete(c.clients, cl)
		}
	}
}

// serveStream is GET /api/events/ws[?since=N]: the events after N (none
// if since is absent), then each new event, one JSON text message each.
func (c *Control) serveStream(w http.ResponseWriter, r *http.Request) {
	since, err := sinceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	backlog := r.URL.Query().Has("since")
	cl := &wsClient{send: make(chan Event, c.cfg.ClientBuffer), done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "control API closing")
		return
	}
	c.wg.Add(1)
	defer c.wg.Done()
	// Subscribe before reading the backlog so no event falls between them.
	c.clients[cl] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.clients, cl)
		c.mu.Unlock()
	}()

	conn, err := c.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	defer conn.Close()
	// Reading processes pings and closes; a read error means the client
	// is gone.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				cl.drop("client closed")
				return
			}
		}
	}()
	defer func() { <-readDone }()
	defer conn.Close() // unblocks the reader

	write := func(e Event) bool {
		conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		if err := conn.WriteJSON(e); err != nil {
			cl.drop("write failed")
			return false
		}
		return true
	}
	// Events of the backlog may reach send as well; the stream skips them.
	last := -1
	if backlog {
		last = since
		for _, e := range c.cfg.Recorder.Since(since) {
			if !write(e) {
				return
			}
			last = e.Seq
		}
	}
	for {
		select {
		case e := <-cl.send:
			if e.Seq <= last {
				continue
			}
			if !write(e) {
				return
			}
		case <-cl.done:
			if cl.reason != "client closed" && cl.reason != "write failed" {
				msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, cl.reason)
				conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return
		}
	}
}
