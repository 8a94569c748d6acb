package main

// TestDocCommands runs the possim commands that README.md and docs/*.md
// show, as written, so the docs cannot drift from the binary unnoticed.
//
// What counts as a command: a line inside a fenced block opened with
// ```sh, ```bash, ```shell, ```console or a bare ``` that starts with
// `possim `, `go run ./cmd/possim ` or either after a `$ ` prompt. A line
// ending in `\` continues on the next. A `# comment` after the command is
// dropped; a comment that starts with `# exit N` says the command is meant
// to exit N (default 0).
//
// Expected output: in a ```console block, the lines after a `$ ` command up
// to the next `$ ` line or the end of the block are what the command
// prints. Each non-empty one must match a line of the command's stdout or
// stderr, in order (other lines may come between). Matching is loose:
// surrounding spaces are ignored and `...` inside a line matches any text,
// so timings and random values are written as `...`; a line that is only
// `...` says lines were left out and matches nothing. ```sh and bare
// blocks show no output and only their exit code is checked. The report
// files a `possim run` is told to write (--html, --format name:FILE) must
// exist and not be empty afterwards.
//
// Environment: every block runs in its own temporary directory (the
// commands of a block share it, so a block may sign on, then sell); paths
// of the repository's inputs (features/..., profile/...) point at the
// repository, every other path lands in the temporary directory,
// where docFixtures are written first. A command that talks to a host
// (any 127.0.0.1:PORT or :PORT argument) gets a possim host started for its
// block on a free port with its ledger at host.db; a `possim ledger`
// command stops that host first (the ledger of a stopped host is read),
// and finds an empty ledger at host.db when its block made none. Servers (host, devices) listen on free ports instead of
// the documented ones, run until they print their ready line, and are then
// cancelled: they must exit 0.
//
// Commands that cannot run here are listed in docSkips with the reason,
// and commands that fail today for a known reason in docKnownDrift; an
// entry that matches no command, or a drift entry whose command passes,
// fails the test, so both lists stay true.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// docSkips: commands the test does not run, by prefix (after `possim `),
// with why.
var docSkips = []struct{ prefix, reason string }{
	{"devices control API on", "a line of possim devices' output in a plain block, not a command"},
	{"bridge (--device", "synopsis: alternatives in parentheses; TestBridgeCommand runs the command"},
	{"bridge --port /dev/ttyUSB0", "needs a real serial port"},
	{"terminal --host ADDR [", "synopsis: placeholders and optional flags; TestTerminalCLI runs the commands"},
	{"ledger --db host.db statement --merchant 123456789012345 --period month --date 2026-11-25 [--json]", "synopsis: optional [--json]; the same statement runs from docs/merchant-flow.md"},
	{"terminal --host 127.0.0.1:8583 sale --amount 5.00 --card visa-credit", "declined only after the admin API change before it; TestDocHostAPI runs docs/host-api.md"},
}

// docKnownDrift: commands that fail today, by prefix, with why. The lead
// fixes the code or the doc and removes the entry.
var docKnownDrift = []struct{ prefix, reason string }{}

// docFixtures are written into every block's directory: the files the
// docs' commands name without creating them.
var docFixtures = map[string]string{
	"faults.yaml": "faults:\n  - match: {mti: \"0200\", amount: \"666.00\"}\n    action: respond\n    code: \"05\"\n",
	// An echo and its answer as a host log shows them (docs/trace.md).
	"ticket.hex": "12:00:01.250 < 303830303832323030303030303043303030303030343030303030303030303030303030313133303231303932393030303030315445524d30303031313233343536373839303132333435333031\n12:00:01.262 > 00503038313038323230303030303032433030303030303430303030303030303030303030303131333032313039323930303030303130305445524d30303031313233343536373839303132333435333031\n",
	// A host trace of a sign-on, a decline (51), a sale never answered and
	// its reversal, cut from simulators/trace/testdata/session-host.jsonl
	// (docs/trace.md, the replay loop).
	"field.jsonl": `{"time":"2026-11-30T21:09:29.845103558Z","dir":"in","remote":"127.0.0.1:40144","mti":"0800","fields":{"11":"000001","41":"TERM0001","42":"123456789012345","7":"1130210929","70":"301"}}
{"time":"2026-11-30T21:09:29.845259698Z","dir":"out","remote":"127.0.0.1:40144","mti":"0810","rc":"00","fields":{"11":"000001","39":"00","41":"TERM0001","42":"123456789012345","7":"1130210929","70":"301"}}
{"time":"2026-11-30T21:09:29.846574167Z","dir":"in","remote":"127.0.0.1:40144","mti":"0800","fields":{"11":"000002","41":"TERM0001","42":"123456789012345","60":"2.1.0","7":"1130210929","70":"001"}}
{"time":"2026-11-30T21:09:29.846670672Z","dir":"out","remote":"127.0.0.1:40144","mti":"0810","rc":"00","fields":{"11":"000002","39":"00","41":"TERM0001","42":"123456789012345","60":"2.1.0","62":"[key under TMK] kcv=B3D813","7":"1130210929","70":"001"}}
{"time":"2026-11-30T21:09:29.906809472Z","dir":"in","remote":"127.0.0.1:40168","mti":"0200","fields":{"11":"000006","12":"210929","13":"1130","14":"3012","2":"476173******0010","22":"051","23":"001","25":"00","3":"000000","35":"[34 bytes]","4":"000000006660","41":"TERM0001","42":"123456789012345","49":"156","52":"[8 bytes]","55":"[88 bytes]","60":"0000012.1.0","7":"1130210929"}}
{"time":"2026-11-30T21:09:29.911209677Z","dir":"out","remote":"127.0.0.1:40168","mti":"0210","rc":"51","fields":{"11":"000006","12":"210929","13":"1130","22":"051","25":"00","3":"000000","39":"51","4":"000000006660","41":"TERM0001","42":"123456789012345","49":"156","55":"[12 bytes]","60":"0000012.1.0","7":"1130210929"},"note":"fault respond"}
{"time":"2026-11-30T21:09:30.554940439Z","dir":"in","remote":"127.0.0.1:40208","mti":"0200","fields":{"11":"000016","12":"210930","13":"1130","14":"3012","2":"476173******0010","22":"051","23":"001","25":"00","3":"000000","35":"[34 bytes]","4":"000000007770","41":"TERM0001","42":"123456789012345","49":"156","52":"[8 bytes]","55":"[88 bytes]","60":"0000012.1.0","7":"1130210930"}}
{"time":"2026-11-30T21:09:30.556644014Z","dir":"out","remote":"127.0.0.1:40208","mti":"0210","rc":"00","fields":{"11":"000016","12":"210930","13":"1130","22":"051","25":"00","3":"000000","37":"113070854493","38":"741039","39":"00","4":"000000007770","41":"TERM0001","42":"123456789012345","49":"156","55":"[12 bytes]","60":"0000012.1.0","63":"D0","7":"1130210930"},"note":"fault drop: not sent"}
{"time":"2026-11-30T21:09:32.558184131Z","dir":"in","remote":"127.0.0.1:40208","mti":"0400","rc":"98","fields":{"11":"000017","12":"210932","13":"1130","14":"3012","2":"476173******0010","22":"051","23":"001","25":"00","3":"000000","39":"98","4":"000000007770","41":"TERM0001","42":"123456789012345","49":"156","60":"0000012.1.0","7":"1130210932","90":"020000001611302109300000000000000000000000"}}
{"time":"2026-11-30T21:09:32.559388469Z","dir":"out","remote":"127.0.0.1:40208","mti":"0410","rc":"00","fields":{"11":"000017","12":"210932","13":"1130","22":"051","25":"00","3":"000000","39":"00","4":"000000007770","41":"TERM0001","42":"123456789012345","49":"156","60":"0000012.1.0","7":"1130210932","90":"020000001611302109300000000000000000000000"}}
`,
	// A bridge recording of a scanner sending one code (docs/trace.md).
	"scan.jsonl": `{"t":"2026-11-30T12:00:00Z","event":"pos-connected"}
{"t":"2026-11-30T12:00:00.1Z","dir":"dev->pos","hex":"3639323132333435363738393002"}
`,
}

// docCmd is one command of a doc.
type docCmd struct {
	file   string
	line   int
	text   string   // the command as written, without prompt and comment
	args   []string // after possim
	exit   int      // the documented exit code
	output []string // expected output lines (console blocks)
}

// docBlock is one fenced block with at least one command.
type docBlock struct {
	file string
	line int
	cmds []*docCmd
}

func (c *docCmd) where() string { return fmt.Sprintf("%s:%d", c.file, c.line) }

var (
	docFence   = regexp.MustCompile("^\\s*```\\s*([A-Za-z]*)")
	docExit    = regexp.MustCompile(`^#\s*exit (\d+)`)
	docAddr    = regexp.MustCompile(`^(127\.0\.0\.1|localhost)?:\d+$`)
	docRunLang = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "console": true}
)

// parseDocCommands finds the commands of one markdown file.
func parseDocCommands(file string, text string) ([]*docBlock, error) {
	var blocks []*docBlock
	var cur *docBlock
	var last *docCmd // the command whose output follows, console blocks only
	in, lang := false, ""
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := docFence.FindStringSubmatch(l); m != nil {
			if in {
				in, cur, last = false, nil, nil
			} else {
				in, lang = true, m[1]
				cur = &docBlock{file: file, line: i + 1}
			}
			continue
		}
		if !in || !docRunLang[lang] {
			continue
		}
		s := strings.TrimSpace(l)
		prompt := strings.HasPrefix(s, "$ ")
		s = strings.TrimSpace(strings.TrimPrefix(s, "$ "))
		var rest string
		switch {
		case strings.HasPrefix(s, "possim "):
			rest = strings.TrimPrefix(s, "possim ")
		case strings.HasPrefix(s, "go run ./cmd/possim "):
			rest = strings.TrimPrefix(s, "go run ./cmd/possim ")
		default:
			if prompt {
				last = nil // another program's command: its output is not ours
			} else if lang == "console" && last != nil {
				last.output = append(last.output, s)
			}
			continue
		}
		start := i + 1
		for strings.HasSuffix(rest, "\\") && i+1 < len(lines) {
			i++
			rest = strings.TrimSuffix(rest, "\\") + " " + strings.TrimSpace(lines[i])
		}
		args, comment, err := splitShell(rest)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, start, err)
		}
		c := &docCmd{file: file, line: start, text: "possim " + strings.TrimSpace(strings.SplitN(rest, " #", 2)[0]), args: args}
		if m := docExit.FindStringSubmatch(comment); m != nil {
			c.exit, _ = strconv.Atoi(m[1])
		}
		if len(cur.cmds) == 0 {
			blocks = append(blocks, cur)
		}
		cur.cmds = append(cur.cmds, c)
		last = nil
		if lang == "console" && prompt {
			last = c
		}
	}
	return blocks, nil
}

// splitShell splits a command line into words as sh does for the quoting
// the docs use (single and double quotes, backslash), and returns the
// trailing # comment apart.
func splitShell(s string) (words []string, comment string, err error) {
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#' && !inWord:
			return words, strings.TrimSpace(s[i:]), nil
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, "", fmt.Errorf("unterminated %c quote in %q", c, s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, "", nil
}

// matchOutput reports the first expected line that no line of got
// matches in order, or "" when all do.
func matchOutput(want []string, got string) string {
	lines := strings.Split(got, "\n")
	j := 0
	for _, w := range want {
		w = strings.TrimSpace(w)
		if w == "" || w == "..." {
			continue
		}
		parts := strings.Split(w, "...")
		for ; j < len(lines); j++ {
			if matchParts(parts, strings.TrimSpace(lines[j])) {
				break
			}
		}
		if j == len(lines) {
			return w
		}
		j++
	}
	return ""
}

// matchParts: the parts appear in order in s; the first is a prefix and
// the last a suffix unless empty (written as a leading or trailing ...).
func matchParts(parts []string, s string) bool {
	if !strings.HasPrefix(s, strings.TrimSpace(parts[0])) {
		return false
	}
	s = s[len(strings.TrimSpace(parts[0])):]
	for k, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if k == len(parts)-2 {
			return strings.HasSuffix(s, p) && strings.Contains(s, p)
		}
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return s == ""
}

func TestParseDocCommands(t *testing.T) {
	md := "intro\n```sh\ngo run ./cmd/possim demo   # the flow\npossim ledger --db host.db verify  # exit 1 on a breach\n" +
		"curl x\n```\n```go\npossim not this\n```\n```console\n$ possim run features/x --tags '~@wired && @a' \\\n    --seed 3\n" +
		"1 scenarios (1 passed)\n...\n$ echo hi\nhi\n```\n"
	blocks, err := parseDocCommands("x.md", md)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Line   int
		Args   []string
		Exit   int
		Output []string
	}
	var g []got
	for _, b := range blocks {
		for _, c := range b.cmds {
			g = append(g, got{c.line, c.args, c.exit, c.output})
		}
	}
	want := []got{
		{3, []string{"demo"}, 0, nil},
		{4, []string{"ledger", "--db", "host.db", "verify"}, 1, nil},
		{11, []string{"run", "features/x", "--tags", "~@wired && @a", "--seed", "3"}, 0, []string{"1 scenarios (1 passed)", "..."}},
	}
	if fmt.Sprint(g) != fmt.Sprint(want) || len(blocks) != 2 {
		t.Errorf("parsed %d blocks\n got %v\nwant %v", len(blocks), g, want)
	}
	if _, err := parseDocCommands("x.md", "```sh\npossim run 'open\n```\n"); err == nil {
		t.Error("an unterminated quote parsed")
	}
	if _, _, err := splitShell("x # exit 2"); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		want []string
		got  string
		miss string
	}{
		{[]string{"a ... c", "d"}, "x\na b c\ny\nd\n", ""},
		{[]string{"d", "a ... c"}, "a b c\nd\n", "a ... c"},
		{[]string{"cut-off ...: 0 postings credited, net 0.00"}, "cut-off 2026-11-30: 0 postings credited, net 0.00", ""},
		{[]string{"net 1.00"}, "net 0.00", "net 1.00"},
		{[]string{"possim run: ... passed in ..."}, "possim run: 1 scenarios passed in 3ms", ""},
		{[]string{"passed"}, "1 passed", "passed"},
	} {
		if miss := matchOutput(tc.want, tc.got); miss != tc.miss {
			t.Errorf("matchOutput(%q, %q) misses %q, want %q", tc.want, tc.got, miss, tc.miss)
		}
	}
}

// docRepoRoot is the repository, two levels above this package.
func docRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

func TestDocCommands(t *testing.T) {
	root := docRepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var blocks []*docBlock
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		bs, err := parseDocCommands(filepath.ToSlash(rel), string(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, bl := range bs {
			n += len(bl.cmds)
		}
		blocks = append(blocks, bs...)
	}
	if n == 0 {
		t.Fatal("no commands found in README.md and docs/*.md")
	}
	usedSkip := make([]bool, len(docSkips))
	usedDrift := make([]bool, len(docKnownDrift))
	var mu sync.Mutex
	var ran, skipped, drifted int
	for _, b := range blocks {
		t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			for name, body := range docFixtures {
				if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile("lab.yaml", mustRead(t, filepath.Join(root, "profile", "default.yaml")), 0o600); err != nil {
				t.Fatal(err)
			}
			h := &docHost{}
			defer h.stop(t)
			for _, c := range b.cmds {
				rest := strings.TrimPrefix(c.text, "possim ")
				if i := docPrefix(docSkips, rest); i >= 0 {
					mu.Lock()
					usedSkip[i] = true
					skipped++
					mu.Unlock()
					t.Logf("%s: skipped %s: %s", c.where(), c.text, docSkips[i].reason)
					continue
				}
				drift := docPrefix(docKnownDrift, rest)
				code, out := runDocCommand(t, root, h, c)
				mu.Lock()
				ran++
				mu.Unlock()
				bad := ""
				if code != c.exit {
					bad = fmt.Sprintf("exit %d, want %d", code, c.exit)
				} else if miss := matchOutput(c.output, out); miss != "" {
					bad = fmt.Sprintf("printed no line matching %q", miss)
				} else if missing := docMissingReports(c.args); missing != "" {
					bad = fmt.Sprintf("wrote no %s", missing)
				}
				switch {
				case drift >= 0 && bad != "":
					mu.Lock()
					usedDrift[drift] = true
					drifted++
					mu.Unlock()
					t.Logf("%s: %s: known drift (%s): %s", c.where(), c.text, docKnownDrift[drift].reason, bad)
				case drift >= 0:
					t.Errorf("%s: %s passes now: remove its docKnownDrift entry (%s)", c.where(), c.text, docKnownDrift[drift].reason)
				case bad != "":
					t.Errorf("%s: %s: %s\n%s", c.where(), c.text, bad, tail(out, 40))
				}
			}
		})
	}
	for i, used := range usedSkip {
		if !used {
			t.Errorf("docSkips entry %q matches no command in the docs: remove it", docSkips[i].prefix)
		}
	}
	for i, used := range usedDrift {
		if !used {
			t.Errorf("docKnownDrift entry %q matches no failing command in the docs: remove it", docKnownDrift[i].prefix)
		}
	}
	t.Logf("%d doc commands: %d ran, %d skipped, %d known drift", n, ran, skipped, drifted)
}

// docMissingReports names a report file a successful `possim run` was
// asked to write (--html FILE, --format name:FILE) and did not.
func docMissingReports(args []string) string {
	if len(args) == 0 || args[0] != "run" {
		return ""
	}
	var files []string
	for i := 1; i+1 < len(args); i++ {
		switch args[i] {
		case "--html":
			files = append(files, args[i+1])
		case "--format":
			for _, f := range strings.Split(args[i+1], ",") {
				if _, file, ok := strings.Cut(f, ":"); ok {
					files = append(files, file)
				}
			}
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			return f
		}
	}
	return ""
}

func docPrefix(list []struct{ prefix, reason string }, rest string) int {
	for i, e := range list {
		if strings.HasPrefix(rest, e.prefix) {
			return i
		}
	}
	return -1
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// docServers are the commands that serve until cancelled, with the line
// they print once ready.
var docServers = map[string]string{
	"host":    "possim host listening on ",
	"devices": "control API on ",
	"proxy":   "possim proxy API on ",
}

// runDocCommand runs one command in the block's directory and returns its
// exit code and everything it printed.
func runDocCommand(t *testing.T, root string, h *docHost, c *docCmd) (int, string) {
	t.Helper()
	args := append([]string(nil), c.args...)
	for _, a := range args {
		if a == ">" || a == "|" || a == "&&" || a == "<" || a == ";" {
			t.Fatalf("%s: %s: the docs test runs no shell (%q); add a docSkips entry or split the line", c.where(), c.text, a)
		}
	}
	server := docServers[args[0]]
	if args[0] == "ledger" {
		if _, err := os.Stat("host.db"); err != nil {
			h.addr(t) // a block that only reads a ledger reads an empty one
		}
		h.stop(t) // the docs read the ledger of a stopped host
	}
	for i, a := range args {
		flag, val, hasEq := "", a, false
		if strings.HasPrefix(a, "--") {
			if k := strings.IndexByte(a, '='); k > 0 {
				flag, val, hasEq = a[:k+1], a[k+1:], true
			}
		}
		switch {
		case docAddr.MatchString(val) && server != "":
			val = "127.0.0.1:0"
		case docAddr.MatchString(val):
			val = h.addr(t)
		case i > 0 && !strings.HasPrefix(val, "-") && val != "" && docInRepo(root, val):
			val = filepath.Join(root, val)
		}
		if hasEq || flag != "" {
			args[i] = flag + val
		} else {
			args[i] = val
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := &docOutput{ready: server, readyc: make(chan struct{})}
	env := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	if server == "" {
		return Main(ctx, args, env), out.String()
	}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, args, env) }()
	select {
	case <-out.readyc:
		cancel()
		return <-done, out.String()
	case code := <-done:
		if code == 0 {
			code = -1 // a server that ends by itself is not what the doc shows
		}
		return code, out.String() + "\n(exited before printing " + strconv.Quote(server) + ")"
	}
}

// docInRepo: the path names an input of the repository: features/... or
// profile/... (never an output a command could overwrite).
func docInRepo(root, p string) bool {
	first, _, _ := strings.Cut(filepath.ToSlash(p), "/")
	if first != "features" && first != "profile" {
		return false
	}
	_, err := os.Stat(filepath.Join(root, p))
	return err == nil
}

// docOutput collects a command's stdout and stderr and closes readyc once
// the ready line appears.
type docOutput struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	ready  string
	readyc chan struct{}
	closed bool
}

func (o *docOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if o.ready != "" && !o.closed && strings.Contains(o.buf.String(), o.ready) {
		o.closed = true
		close(o.readyc)
	}
	return len(p), nil
}

func (o *docOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// docHost is the possim host of one block, started on first use.
type docHost struct {
	a      string
	cancel context.CancelFunc
	done   chan int
	out    *docOutput
}

func (h *docHost) addr(t *testing.T) string {
	t.Helper()
	if h.a != "" {
		return h.a
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.out = &docOutput{ready: "possim host listening on ", readyc: make(chan struct{})}
	h.done = make(chan int, 1)
	h.cancel = cancel
	go func() {
		h.done <- Main(ctx, []string{"host", "--listen", "127.0.0.1:0", "--db", "host.db"}, &Env{Stdout: h.out, Stderr: h.out, Getenv: func(string) string { return "" }})
	}()
	select {
	case <-h.out.readyc:
	case code := <-h.done:
		t.Fatalf("test host exited %d before listening:\n%s", code, h.out.String())
	}
	line := h.out.String()
	line = line[strings.Index(line, "listening on ")+len("listening on "):]
	h.a = strings.TrimSpace(strings.SplitN(line, "\n", 2)[0])
	return h.a
}

func (h *docHost) stop(t *testing.T) {
	t.Helper()
	if h.a == "" {
		return
	}
	h.cancel()
	if code := <-h.done; code != 0 {
		t.Errorf("test host exited %d:\n%s", code, h.out.String())
	}
	h.a = ""
}
