package iso

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
	"gopkg.in/yaml.v3"
)

// Spec87 is the default possim87 spec. It starts from moov's Spec87ASCII
// and changes what docs/architecture.md fixes: an 8-byte bitmap sent as 16 hex
// characters that expands to the secondary bitmap through bit 1, binary
// fields (52, 55, 64, 128) as hex characters, and the network management,
// reconciliation and original-data fields possim uses. Field 55's LLL
// counts the hex characters sent, not the bytes they encode (see
// hexCharsLLL); wireshark_test.go proves the wire against Wireshark.
var Spec87 = newSpec87()

func newSpec87() *iso8583.MessageSpec {
	fields := make(map[int]field.Field, 80)
	for id, f := range specs.Spec87ASCII.Fields {
		fields[id] = f
	}
	str := func(length int, desc string, pref prefix.Prefixer) field.Field {
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: pref})
	}
	num := func(length int, desc string) field.Field {
		return field.NewNumeric(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed, Pad: padding.Left('0')})
	}
	numStr := func(length int, desc string) field.Field {
		// Numeric content kept as a string so leading zeros survive (dates,
		// STANs, codes); callers write the full width.
		return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
	}
	bin := func(length int, desc string, pref prefix.Prefixer) field.Field {
		return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.BytesToASCIIHex, Pref: pref})
	}
	fields[1] = field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed})
	fields[3] = numStr(6, "Processing Code")
	fields[4] = numStr(12, "Transaction Amount")
	fields[7] = numStr(10, "Transmission Date & Time")
	fields[11] = numStr(6, "Systems Trace Audit Number (STAN)")
	fields[12] = numStr(6, "Local Transaction Time")
	fields[13] = numStr(4, "Local Transaction Date")
	fields[14] = numStr(4, "Expiration Date")
	fields[22] = numStr(3, "Point of Service Entry Mode")
	fields[23] = numStr(3, "Card Sequence Number")
	fields[25] = numStr(2, "Point of Service Condition Code")
	fields[49] = numStr(3, "Transaction Currency Code")
	fields[52] = bin(8, "PIN Data", prefix.ASCII.Fixed)
	fields[55] = bin(255, "ICC Data", hexCharsLLL)
	fields[64] = bin(8, "Message Authentication Code (MAC)", prefix.ASCII.Fixed)
	fields[70] = numStr(3, "Network Management Information Code")
	fields[74] = num(10, "Credits, Number")
	fields[76] = num(10, "Debits, Number")
	fields[86] = num(16, "Credits, Amount")
	fields[88] = num(16, "Debits, Amount")
	fields[90] = numStr(42, "Original Data Elements")
	fields[95] = str(42, "Replacement Amounts", prefix.ASCII.Fixed)
	fields[128] = bin(8, "Message Authentication Code", prefix.ASCII.Fixed)
	return &iso8583.MessageSpec{Name: "possim87", Fields: fields}
}

// hexCharsLLL is the ASCII LLL prefix of field 55. ISO 8583:1987 has no
// ICC field: 55 is "reserved ISO", ans..999, and an ans length counts the
// characters sent. EMV data carried there as hex text is therefore
// counted in hex characters, as Wireshark's 1987 dissector, moov's
// Spec87ASCII and jPOS's ISO87APackager (IFA_LLLCHAR) all read it; only
// the 1993 binary field b..255 counts bytes. The field keeps its []byte
// value and its 255-byte EMV limit (510 characters).
var hexCharsLLL prefix.Prefixer = hexCharsPrefixer{prefix.ASCII.LLL}

type hexCharsPrefixer struct{ chars prefix.Prefixer }

func (p hexCharsPrefixer) EncodeLength(maxLen, length int) ([]byte, error) {
	return p.chars.EncodeLength(2*maxLen, 2*length)
}

func (p hexCharsPrefixer) DecodeLength(maxLen int, data []byte) (int, int, error) {
	n, read, err := p.chars.DecodeLength(2*maxLen, data)
	if err != nil {
		return 0, 0, err
	}
	if n%2 != 0 {
		return 0, 0, fmt.Errorf("length %d counts hex characters and must be even", n)
	}
	return n / 2, read, nil
}

// Inspect names the prefix for moov's spec export. The name is not one
// moov's importer knows, so an exported possim87 fails to load loudly
// instead of coming back counting bytes.
func (p hexCharsPrefixer) Inspect() string { return "ASCIIHexChars.LLL" }

// SpecByName returns a built-in spec: "possim87" (the default), or moov's
// "spec87ascii" and "spec87hex" as shipped.
func SpecByName(name string) (*iso8583.MessageSpec, error) {
	switch strings.ToLower(name) {
	case "", "possim87":
		return Spec87, nil
	case "spec87ascii":
		return specs.Spec87ASCII, nil
	case "spec87hex":
		return specs.Spec87Hex, nil
	case "nac":
		return SpecNAC, nil
	case "cup":
		return SpecCUP, nil
	}
	return nil, fmt.Errorf("unknown spec %q; built-in specs: possim87, nac, cup, spec87ascii, spec87hex, or a path to a moov JSON/YAML spec file", name)
}

// LoadSpec returns a built-in spec by name, or reads a moov-io spec file
// (JSON, or the same structure in YAML) when name is a path.
func LoadSpec(name string) (*iso8583.MessageSpec, error) {
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".json" && ext != ".yaml" && ext != ".yml" {
		return SpecByName(name)
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	return ParseSpec(raw, name)
}

// ParseSpec decodes a moov-io spec in JSON or YAML; source names it in errors.
func ParseSpec(raw []byte, source string) (spec *iso8583.MessageSpec, err error) {
	defer func() {
		// The spec importer indexes into what it is given; a malformed file
		// must become an error, never a crash.
		if r := recover(); r != nil {
			spec, err = nil, fmt.Errorf("%s: malformed spec: %v", source, r)
		}
	}()
	if len(raw) > maxSpecSize {
		return nil, fmt.Errorf("%s: %d bytes; a spec file is at most %d", source, len(raw), maxSpecSize)
	}
	ext := strings.ToLower(filepath.Ext(source))
	if ext == ".yaml" || ext == ".yml" {
		var n yaml.Node
		if err := yaml.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		// Aliases can expand a small file into an enormous one; a spec
		// never needs them.
		if line := aliasLine(&n); line > 0 {
			return nil, fmt.Errorf("%s:%d: anchors and aliases are not allowed in a spec file", source, line)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if raw, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("%s: spec must be a mapping of string keys: %w", source, err)
		}
	}
	spec, err = specs.Builder.ImportJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if spec.Fields[0] == nil || spec.Fields[1] == nil {
		return nil, fmt.Errorf("%s: spec must define field 0 (MTI) and field 1 (bitmap)", source)
	}
	if _, ok := spec.Fields[1].(*field.Bitmap); !ok {
		return nil, fmt.Errorf("%s: field 1 must be a bitmap", source)
	}
	return spec, nil
}

// maxSpecSize bounds a spec file: moov's own specs are a few tens of KB.
const maxSpecSize = 1 << 20

// aliasLine is the line of the first alias in n, or 0.
func aliasLine(n *yaml.Node) int {
	if n.Kind == yaml.AliasNode {
		return n.Line
	}
	for _, c := range n.Content {
		if l := aliasLine(c); l > 0 {
			return l
		}
	}
	return 0
}
