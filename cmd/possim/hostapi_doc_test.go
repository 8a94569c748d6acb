package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDocHostAPI runs the examples of docs/host-api.md, in order, against
// one `possim host --admin`, so the doc cannot drift from the API.
//
// The commands are the lines of its ```sh and ```console blocks that start
// with `curl ` or `possim ` (after an optional `$ ` prompt), as
// TestDocCommands reads them. A curl line is sent with net/http (-X, -H
// and -d are understood; 127.0.0.1:8584 is the admin API) and must answer
// 2xx, or the status a `# HTTP NNN` comment gives; a possim line runs with
// 127.0.0.1:8583 pointing at the host (`possim host` lines are the
// synopsis and not run). In a console block the lines after a command are
// its expected output, matched as TestDocCommands matches them.
func TestDocHostAPI(t *testing.T) {
	root := docRepoRoot(t)
	text := string(mustRead(t, filepath.Join(root, "docs", "host-api.md")))
	cmds, err := parseHostAPIDoc(text)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("lab.yaml", mustRead(t, filepath.Join(root, "profile", "default.yaml")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &docOutput{ready: "possim host listening on ", readyc: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", "host.db", "--profile", "lab.yaml",
			"--admin", "127.0.0.1:0"}, &Env{Stdout: out, Stderr: out, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("host exited %d:\n%s", code, out.String())
		}
	}()
	select {
	case <-out.readyc:
	case code := <-done:
		t.Fatalf("host exited %d before listening:\n%s", code, out.String())
	}
	hostAddr := afterOnLine(out.String(), "possim host listening on ")
	adminAddr := strings.TrimPrefix(afterOnLine(out.String(), "possim host admin API on "), "http://")

	var curls []string
	for _, c := range cmds {
		var code int
		var got, bad string
		switch c.args[0] {
		case "curl":
			curls = append(curls, c.text)
			code, got, err = docCurl(c.args[1:], adminAddr)
			if err != nil {
				t.Fatalf("line %d: %s: %v", c.line, c.text, err)
			}
			if want := c.exit; (want == 0 && code/100 != 2) || (want != 0 && code != want) {
				bad = fmt.Sprintf("HTTP %d, want %s", code, map[bool]string{true: "2xx", false: strconv.Itoa(want)}[want == 0])
			}
		case "possim":
			if len(c.args) > 1 && c.args[1] == "host" {
				continue
			}
			args := append([]string(nil), c.args[1:]...)
			for i, a := range args {
				if a == "127.0.0.1:8583" {
					args[i] = hostAddr
				}
			}
			o := &docOutput{}
			code = Main(context.Background(), args, &Env{Stdin: strings.NewReader(""), Stdout: o, Stderr: o, Getenv: func(string) string { return "" }})
			got = o.String()
			if code != c.exit {
				bad = fmt.Sprintf("exit %d, want %d", code, c.exit)
			}
		}
		if bad == "" {
			if miss := matchOutput(c.output, got); miss != "" {
				bad = fmt.Sprintf("printed no line matching %q", miss)
			}
		}
		if bad != "" {
			t.Errorf("docs/host-api.md:%d: %s: %s\n%s", c.line, c.text, bad, tail(got, 30))
		}
	}
	// Every endpoint has its example.
	all := strings.Join(curls, " \n") + " "
	for _, ep := range []string{"/api/status", "/api/requests?", "/api/cards ", "/api/cards/visa-credit ",
		"/status", "/reset_pin", "-X POST -d '{\"name\"", "-X PUT -d '[", "-X DELETE http://127.0.0.1:8584/api/faults/",
		"-X DELETE http://127.0.0.1:8584/api/faults ", "/api/maintenance", "/api/profile/reload", "/api/statement?", "/api/discrepancies"} {
		if !strings.Contains(all, ep) {
			t.Errorf("docs/host-api.md has no curl example with %q", ep)
		}
	}
}

// hostAPICmd is one command of docs/host-api.md; exit is the exit code of
// a possim line or the HTTP status of a curl line (0: any 2xx).
type hostAPICmd struct {
	line   int
	text   string
	args   []string
	exit   int
	output []string
}

var docHTTPStatus = regexp.MustCompile(`^#\s*HTTP (\d{3})`)

func parseHostAPIDoc(text string) ([]*hostAPICmd, error) {
	var cmds []*hostAPICmd
	var last *hostAPICmd
	in, lang := false, ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if m := docFence.FindStringSubmatch(lines[i]); m != nil {
			in, lang, last = !in, m[1], nil
			continue
		}
		if !in || !docRunLang[lang] {
			continue
		}
		s := strings.TrimSpace(lines[i])
		prompt := strings.HasPrefix(s, "$ ")
		s = strings.TrimSpace(strings.TrimPrefix(s, "$ "))
		if !strings.HasPrefix(s, "curl ") && !strings.HasPrefix(s, "possim ") {
			if lang == "console" && last != nil && !prompt {
				last.output = append(last.output, s)
			}
			continue
		}
		start := i + 1
		for strings.HasSuffix(s, "\\") && i+1 < len(lines) {
			i++
			s = strings.TrimSuffix(s, "\\") + " " + strings.TrimSpace(lines[i])
		}
		args, comment, err := splitShell(s)
		if err != nil {
			return nil, fmt.Errorf("docs/host-api.md:%d: %w", start, err)
		}
		c := &hostAPICmd{line: start, text: strings.TrimSpace(strings.SplitN(s, " #", 2)[0]), args: args}
		if m := docExit.FindStringSubmatch(comment); m != nil {
			c.exit, _ = strconv.Atoi(m[1])
		}
		if m := docHTTPStatus.FindStringSubmatch(comment); m != nil {
			c.exit, _ = strconv.Atoi(m[1])
		}
		cmds = append(cmds, c)
		last = nil
		if lang == "console" && prompt {
			last = c
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("docs/host-api.md: no commands")
	}
	return cmds, nil
}

// docCurl does what curl does with the options the doc uses and returns
// the status and the body.
func docCurl(args []string, adminAddr string) (int, string, error) {
	method, body, url := "", "", ""
	hdr := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s":
		case (a == "-X" || a == "-d" || a == "-H") && i+1 < len(args):
			i++
			switch a {
			case "-X":
				method = args[i]
			case "-d":
				body = args[i]
			case "-H":
				k, v, _ := strings.Cut(args[i], ":")
				hdr.Set(k, strings.TrimSpace(v))
			}
		case strings.HasPrefix(a, "http://127.0.0.1:8584/"):
			url = "http://" + adminAddr + strings.TrimPrefix(a, "http://127.0.0.1:8584")
		default:
			return 0, "", fmt.Errorf("curl option %q: the test knows -s, -X, -d, -H and http://127.0.0.1:8584/ URLs", a)
		}
	}
	if url == "" {
		return 0, "", fmt.Errorf("no http://127.0.0.1:8584/ URL")
	}
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost // as curl -d
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header = hdr
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// afterOnLine is what follows prefix on its line of s.
func afterOnLine(s, prefix string) string {
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(s[i+len(prefix):], "\n", 2)[0])
}
