package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Day scans a civil date from either backend (PostgreSQL DATE arrives as
// time.Time, SQLite TEXT as a string) and writes it as 'YYYY-MM-DD', which
// both accept. The zero Day is NULL.
type Day struct{ time.Time }

// DayOf wraps a civil date for writing.
func DayOf(t time.Time) Day { return Day{t} }

// Scan implements sql.Scanner.
func (d *Day) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.Time = time.Time{}
	case time.Time:
		y, m, dd := x.Date()
		d.Time = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	default:
		return fmt.Errorf("store: cannot scan %T into a date", v)
	}
	return nil
}

func (d *Day) parse(s string) error {
	if len(s) > 10 {
		s = s[:10]
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return fmt.Errorf("store: bad date %q: %w", s, err)
	}
	d.Time = t
	return nil
}

// Value implements driver.Valuer.
func (d Day) Value() (driver.Value, error) {
	if d.Time.IsZero() {
		return nil, nil
	}
	return d.Time.Format(DateLayout), nil
}

// Ptr returns the date, or nil for NULL.
func (d Day) Ptr() *time.Time {
	if d.Time.IsZero() {
		return nil
	}
	t := d.Time
	return &t
}

// DayPtr wraps an optional civil date for writing.
func DayPtr(t *time.Time) Day {
	if t == nil {
		return Day{}
	}
	return Day{*t}
}
