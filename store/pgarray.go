package store

import (
	"database/sql/driver"
	"strings"
	"time"
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

// dayArray is a date[] parameter, NULL for a zero Day: the text
// pq.GenericArray makes of a []Day, without its reflection.
type dayArray []Day

func (a dayArray) Value() (driver.Value, error) {
	return timeArray(len(a), 13, func(i int) time.Time { return a[i].Time }, DateLayout), nil
}

// instantArray is a timestamptz[] parameter, NULL for a zero Instant: the
// text pq.GenericArray makes of an []Instant, without its reflection.
type instantArray []Instant

func (a instantArray) Value() (driver.Value, error) {
	return timeArray(len(a), 33, func(i int) time.Time { return time.Time(a[i]).UTC() }, InstantLayout), nil
}

// timeArray is the array literal of n times, each quoted in layout (width
// bytes at most), NULL for a zero time.
func timeArray(n, width int, at func(int) time.Time, layout string) string {
	b := make([]byte, 1, 2+width*n)
	b[0] = '{'
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		t := at(i)
		if t.IsZero() {
			b = append(b, "NULL"...)
			continue
		}
		b = append(b, '"')
		b = t.AppendFormat(b, layout)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}
