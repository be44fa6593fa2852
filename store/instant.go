package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Instant scans and writes a moment in time on both backends: TIMESTAMPTZ on
// PostgreSQL, TEXT RFC 3339 (UTC, nanoseconds) on SQLite, which sorts as text.
type Instant time.Time

// InstantLayout is how SQLite stores instants: fixed width, so text order is time order.
const InstantLayout = "2006-01-02T15:04:05.000000000Z"

// T returns the instant as a time.Time.
func (i Instant) T() time.Time { return time.Time(i) }

// Scan implements sql.Scanner.
func (i *Instant) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*i = Instant{}
	case time.Time:
		*i = Instant(x)
	case string:
		return i.parse(x)
	case []byte:
		return i.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T into an instant", v)
	}
	return nil
}

func (i *Instant) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: bad instant %q: %w", s, err)
	}
	*i = Instant(t)
	return nil
}

// Value implements driver.Valuer.
func (i Instant) Value() (driver.Value, error) {
	t := time.Time(i)
	if t.IsZero() {
		return nil, nil
	}
	return t.UTC().Format(InstantLayout), nil
}
