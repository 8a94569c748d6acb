package iso

import (
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed dialects/*.yaml
var builtinFiles embed.FS

// LoadDialect returns a built-in dialect by name ("" is possim87), or
// reads a dialect file (YAML or JSON) when name is a path.
func LoadDialect(name string) (*Dialect, error) {
	if name == "" {
		name = "possim87"
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".json" && ext != ".yaml" && ext != ".yml" {
		raw, err := builtinFiles.ReadFile("dialects/" + strings.ToLower(name) + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("unknown dialect %q; built-in dialects: %s, or a path to a dialect file (.yaml, .yml, .json)",
				name, strings.Join(builtinNames, ", "))
		}
		return ParseDialect(raw, "dialects/"+name+".yaml", "")
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading dialect: %w", err)
	}
	return ParseDialect(raw, name, filepath.Dir(name))
}

// dialectFile is the file format; every key is checked by ParseDialect.
type dialectFile struct {
	Name           string `yaml:"name"`
	Spec           string `yaml:"spec"`
	Length         string `yaml:"length"`
	CountsItself   bool   `yaml:"length_counts_itself"`
	TPDU           string `yaml:"tpdu"`
	Header         string `yaml:"header"`
	UnionPayHeader *struct {
		ApplicationType       string `yaml:"application_type"`
		Version               string `yaml:"version"`
		TerminalStatus        int    `yaml:"terminal_status"`
		ProcessingRequirement int    `yaml:"processing_requirement"`
		Reserved              string `yaml:"reserved"`
	} `yaml:"unionpay_header"`
	MaxFrame int `yaml:"max_frame"`
}

var dialectKeys = map[string]bool{"name": true, "spec": true, "length": true, "length_counts_itself": true,
	"tpdu": true, "header": true, "unionpay_header": true, "max_frame": true}
var unionPayKeys = map[string]bool{"application_type": true, "version": true, "terminal_status": true,
	"processing_requirement": true, "reserved": true}

// ParseDialect decodes and checks a dialect file; source names it in
// errors (file:line), dir is where a spec path in it is relative to.
// JSON is YAML too, so one parser reads both.
func ParseDialect(raw []byte, source, dir string) (*Dialect, error) {
	if len(raw) > maxSpecSize {
		return nil, fmt.Errorf("%s: %d bytes; a dialect file is at most %d", source, len(raw), maxSpecSize)
	}
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: a dialect file is a mapping with spec, length and the framing keys", source)
	}
	doc := root.Content[0]
	if line := aliasLine(doc); line > 0 {
		return nil, fmt.Errorf("%s:%d: anchors and aliases are not allowed in a dialect file", source, line)
	}
	at := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", source, n.Line, fmt.Sprintf(format, args...))
	}
	lines := map[string]*yaml.Node{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k := doc.Content[i]
		if !dialectKeys[k.Value] {
			return nil, at(k, "unknown key %q; valid keys: name, spec, length, length_counts_itself, tpdu, header, unionpay_header, max_frame", k.Value)
		}
		lines[k.Value] = doc.Content[i+1]
		if k.Value == "unionpay_header" {
			v := doc.Content[i+1]
			for j := 0; j+1 < len(v.Content); j += 2 {
				if !unionPayKeys[v.Content[j].Value] {
					return nil, at(v.Content[j], "unknown key %q in unionpay_header; valid keys: application_type, version, terminal_status, processing_requirement, reserved", v.Content[j].Value)
				}
			}
		}
	}
	var f dialectFile
	if err := doc.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	top := doc
	if f.Spec == "" {
		return nil, at(top, "no spec: give a built-in spec (possim87, nac, cup, spec87ascii, spec87hex) or a moov spec file")
	}
	if _, ok := lines["length"]; !ok {
		return nil, at(top, "no length: give one of none, binary2, bcd2, ascii4")
	}
	d := &Dialect{Name: f.Name}
	if d.Name == "" {
		d.Name = strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	}
	specPath := f.Spec
	if ext := strings.ToLower(filepath.Ext(specPath)); (ext == ".json" || ext == ".yaml" || ext == ".yml") && dir != "" && !filepath.IsAbs(specPath) {
		specPath = filepath.Join(dir, specPath)
	}
	spec, err := LoadSpec(specPath)
	if err != nil {
		return nil, at(lines["spec"], "%v", err)
	}
	d.Spec = spec
	l, ok := lengthNames[f.Length]
	if !ok {
		return nil, at(lines["length"], "length %q; valid: none, binary2, bcd2, ascii4", f.Length)
	}
	fr := Framing{Length: l, CountsItself: f.CountsItself, MaxFrame: f.MaxFrame}
	if f.CountsItself && l == LengthNone {
		return nil, at(lines["length_counts_itself"], "length_counts_itself with length none: there is no length to count")
	}
	if f.TPDU != "" {
		b, err := hex.DecodeString(strings.ReplaceAll(f.TPDU, " ", ""))
		if err != nil || len(b) != TPDULen {
			return nil, at(lines["tpdu"], "tpdu %q: give %d bytes in hex, such as 6000010000 (ID 60, destination, source)", f.TPDU, TPDULen)
		}
		if b[0] != TPDUID {
			return nil, at(lines["tpdu"], "tpdu %q: the ID byte is %02X; a TPDU starts with 60", f.TPDU, b[0])
		}
		fr.TPDU = b
	}
	if f.Header != "" && f.UnionPayHeader != nil {
		return nil, at(lines["unionpay_header"], "header and unionpay_header both given: a dialect has one application header")
	}
	if f.Header != "" {
		b, err := hex.DecodeString(strings.ReplaceAll(f.Header, " ", ""))
		if err != nil {
			return nil, at(lines["header"], "header %q: give the bytes in hex", f.Header)
		}
		fr.Header = b
	}
	if u := f.UnionPayHeader; u != nil {
		n := lines["unionpay_header"]
		if u.Reserved == "" {
			u.Reserved = "000000"
		}
		two := func(s, what string) error {
			if len(s) != 2 || !allDigits(s) {
				return at(n, "unionpay_header %s %q: give 2 digits", what, s)
			}
			return nil
		}
		if err := two(u.ApplicationType, "application_type"); err != nil {
			return nil, err
		}
		if err := two(u.Version, "version"); err != nil {
			return nil, err
		}
		if u.TerminalStatus < 0 || u.TerminalStatus > 9 || u.ProcessingRequirement < 0 || u.ProcessingRequirement > 9 {
			return nil, at(n, "unionpay_header terminal_status and processing_requirement are one digit each")
		}
		if len(u.Reserved) != 6 || !allDigits(u.Reserved) {
			return nil, at(n, "unionpay_header reserved %q: give 6 digits", u.Reserved)
		}
		digits := u.ApplicationType + u.Version + strconv.Itoa(u.TerminalStatus) + strconv.Itoa(u.ProcessingRequirement) + u.Reserved
		b, _ := strictBCD.Encode([]byte(digits))
		fr.Header = b
		d.unionPay = true
	}
	if fr.MaxFrame == 0 {
		fr.MaxFrame = MaxMessageLength
	}
	min := fr.Length.size() + len(fr.TPDU) + len(fr.Header) + 8
	if fr.MaxFrame < min {
		return nil, at(lines["max_frame"], "max_frame %d cannot hold the headers and a message (at least %d)", fr.MaxFrame, min)
	}
	if limit := fr.Length.max(); fr.MaxFrame > limit+fr.Length.size() && fr.Length != LengthNone {
		return nil, at(lines["max_frame"], "max_frame %d is more than the %s length header can announce (%d)", fr.MaxFrame, fr.Length, limit)
	}
	if fr.MaxFrame > 1<<20 {
		return nil, at(lines["max_frame"], "max_frame %d: at most %d", fr.MaxFrame, 1<<20)
	}
	d.Framing = fr
	return d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
