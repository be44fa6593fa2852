package store

import (
	"database/sql/driver"
	"strings"
)

// textArray is a PostgreSQL text[] parameter. It encodes like pq.Array of a
// []string, in one pass into a buffer of the right size: for a round's
// thousands of rendered messages, pq's byte-by-byte quoting and the growing
// of its buffer cost more than the INSERT they feed.
type textArray []string

// Value is the array literal: every element quoted, with '"' and '\'
// escaped by a backslash.
func (a textArray) Value() (driver.Value, error) {
	if a == nil {
		return nil, nil
	}
	n := 2
	for _, s := range a {
		n += len(s) + 3
	}
	var b strings.Builder
	b.Grow(n + n/64)
	b.WriteByte('{')
	for i, s := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for {
			j := strings.IndexAny(s, `"\`)
			if j < 0 {
				break
			}
			b.WriteString(s[:j])
			b.WriteByte('\\')
			b.WriteByte(s[j])
			s = s[j+1:]
		}
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}
