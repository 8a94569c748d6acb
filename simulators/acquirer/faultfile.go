package acquirer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/possim/possim/money"
	"gopkg.in/yaml.v3"
)

// ParseFaults decodes a fault file: either a list of faults or a mapping
// with a "faults" list. Amounts are written like the profile's ("100.00"),
// delays as Go durations ("1.5s"). JSON is read by the same YAML decoder, so
// both report the line of a mistake. name is used in errors.
func ParseFaults(data []byte, name string) ([]Fault, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) || len(bytes.TrimSpace(data)) == 0 {
			return nil, nil
		}
		return nil, &FaultFileError{File: name, Line: yamlErrLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	list := root.Content[0]
	if list.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(list.Content); i += 2 {
			if k := list.Content[i]; k.Value == "faults" {
				found = list.Content[i+1]
			} else {
				return nil, &FaultFileError{File: name, Line: k.Line, Msg: fmt.Sprintf("unknown key %q (want \"faults\")", k.Value)}
			}
		}
		if found == nil {
			return nil, &FaultFileError{File: name, Line: list.Line, Msg: `want a "faults" list`}
		}
		list = found
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &FaultFileError{File: name, Line: list.Line, Msg: "want a list of faults"}
	}
	out := make([]Fault, 0, len(list.Content))
	for _, n := range list.Content {
		f, err := parseFault(n)
		if err != nil {
			var fe *FaultFileError
			if errors.As(err, &fe) {
				fe.File = name
				return nil, fe
			}
			return nil, &FaultFileError{File: name, Line: n.Line, Msg: err.Error()}
		}
		if err := f.Validate(); err != nil {
			return nil, &FaultFileError{File: name, Line: n.Line, Msg: err.Error()}
		}
		out = append(out, f)
	}
	return out, nil
}

func parseFault(n *yaml.Node) (Fault, error) {
	var f Fault
	if n.Kind != yaml.MappingNode {
		return f, &FaultFileError{Line: n.Line, Msg: "a fault must be a mapping (name, match, action, ...)"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "name":
			f.Name, err = scalar(v)
		case "action":
			f.Action, err = scalar(v)
		case "code":
			f.Code, err = scalar(v)
		case "delay":
			var s string
			if s, err = scalar(v); err == nil {
				if f.Delay, err = time.ParseDuration(s); err != nil {
					err = fmt.Errorf("delay %q: want a duration such as 500ms or 2s", s)
				}
			}
		case "amount":
			f.Amount, err = amount(v)
		case "sticky":
			var s string
			if s, err = scalar(v); err == nil {
				if f.Sticky, err = strconv.ParseBool(s); err != nil {
					err = fmt.Errorf("sticky %q: want true or false", s)
				}
			}
		case "match":
			f.Match, err = parseMatch(v)
		default:
			err = fmt.Errorf("unknown key %q; valid keys: name, match, action, code, delay, amount, sticky", k.Value)
			v = k
		}
		if err != nil {
			var fe *FaultFileError
			if errors.As(err, &fe) {
				return f, err
			}
			return f, &FaultFileError{Line: v.Line, Msg: err.Error()}
		}
	}
	if f.Action == "" {
		return f, &FaultFileError{Line: n.Line, Msg: "fault without an action"}
	}
	return f, nil
}

func parseMatch(n *yaml.Node) (Match, error) {
	var m Match
	if n.Kind != yaml.MappingNode {
		return m, &FaultFileError{Line: n.Line, Msg: "match must be a mapping (mti, proc_code, pan, alias, amount, tid, nth)"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "mti":
			m.MTI, err = scalar(v)
		case "proc_code":
			m.ProcCode, err = scalar(v)
		case "pan":
			m.PAN, err = scalar(v)
		case "alias":
			m.Alias, err = scalar(v)
		case "tid":
			m.TID, err = scalar(v)
		case "amount":
			var a int64
			if a, err = amount(v); err == nil {
				m.Amount = &a
			}
		case "nth":
			var s string
			if s, err = scalar(v); err == nil {
				if m.Nth, err = strconv.Atoi(s); err != nil || m.Nth < 1 {
					err = fmt.Errorf("nth %q: want a whole number from 1", s)
				}
			}
		default:
			err = fmt.Errorf("unknown match key %q; valid keys: mti, proc_code, pan, alias, amount, tid, nth", k.Value)
			v = k
		}
		if err != nil {
			return m, &FaultFileError{Line: v.Line, Msg: err.Error()}
		}
	}
	return m, nil
}

func scalar(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errors.New("want a single value")
	}
	return n.Value, nil
}

func amount(n *yaml.Node) (int64, error) {
	s, err := scalar(n)
	if err != nil {
		return 0, err
	}
	v, err := money.Parse(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("amount %q is negative", s)
	}
	return v, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}
