package workflow

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The canonical encoding of history entries (PayloadJSON, ComputeHash) is
// encoding/json's output, byte for byte: the hashes of stored history depend
// on it. It is written here by hand since a round seals tens of thousands of
// entries and json.Marshal of a []any or a map, by reflection, cost most of
// that; strings that encoding/json would escape go through it.

// appendJSONString appends s as encoding/json encodes a string.
func appendJSONString(b []byte, s string) []byte {
	if !simpleJSON(s) {
		q, err := json.Marshal(s)
		if err != nil {
			panic(err) // a string always marshals
		}
		return append(b, q...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		b = append(b, s[:i]...)
		b = append(b, '\\', s[i])
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

// simpleJSON reports whether encoding/json writes s as is between quotes
// but for '"' and '\' (escaped by a backslash): valid UTF-8 without control
// characters, the HTML characters '<', '>', '&' or U+2028, U+2029.
func simpleJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '<', c == '>', c == '&':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if ascii {
		return true
	}
	return utf8.ValidString(s) && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")
}

// appendPayloadJSON appends p as encoding/json encodes a map[string]string:
// keys sorted.
func appendPayloadJSON(b []byte, p map[string]string) []byte {
	if len(p) == 0 {
		return append(b, "{}"...)
	}
	var buf [8]string
	keys := buf[:0]
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, p[k])
	}
	return append(b, '}')
}

// appendJSONInt appends an integer as encoding/json does.
func appendJSONInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
