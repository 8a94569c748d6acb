//go:build tools

package tools

import (
	_ "github.com/creack/pty"
	_ "github.com/cucumber/godog"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gorilla/websocket"
	_ "github.com/moov-io/iso8583"
	_ "github.com/moov-io/iso8583-connection"
	_ "go.bug.st/serial"
	_ "golang.org/x/term"
	_ "golang.org/x/text/encoding/simplifiedchinese"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
