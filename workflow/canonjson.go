package workflow

import "unicode/utf8"

// appendJSONString appends s quoted as encoding/json's Marshal quotes a
// string (HTML-safe): '"' and '\\' escaped with a backslash, \b \f \n \r \t
// by their short forms, the other control characters and '<', '>', '&' as
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029,
// everything else as it is. The hashes of the history chain are computed
// over this encoding: it must not change (TestCanonicalJSON and
// FuzzCanonicalJSON hold it to encoding/json's).
func appendJSONString(dst []byte, s string) []byte {
	return appendJSON(dst, s)
}

// appendJSONBytes is appendJSONString of string(s), without the copy.
func appendJSONBytes(dst, s []byte) []byte {
	return appendJSON(dst, s)
}

const jsonHex = "0123456789abcdef"

func appendJSON[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		r, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
