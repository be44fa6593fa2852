package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"ducha/internal/testdb"
	"ducha/store"
)

// TestBinaryCopyParser reads a real binary COPY stream (integers, text with
// multi-byte characters, an empty string, NULLs, dates) fed in every chunk
// size from one byte up, and rejects streams cut short or corrupted.
func TestBinaryCopyParser(t *testing.T) {
	db := testdb.Open(t, store.Postgres)
	ctx := context.Background()
	const q = `SELECT i::bigint, CASE WHEN i % 3 = 0 THEN NULL ELSE repeat('村', i % 4) END, DATE '2018-01-01' + i, i::int
		FROM generate_series(1, 40) AS i`
	want, _, err := store.CopyRows(ctx, db, q, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 40 {
		t.Fatalf("%d rows, want 40", len(want))
	}
	if want[2][1] != nil || string(want[4][1]) != "村" || want[3][1] == nil || len(want[3][1]) != 0 {
		t.Fatalf("NULL or text fields misread: %q", want[:5])
	}
	if len(want[0][0]) != 8 || want[0][0][7] != 1 || len(want[0][2]) != 4 || len(want[0][3]) != 4 {
		t.Fatalf("integer or date fields misread: %v", want[0])
	}
	for chunk := 1; chunk <= 64; chunk++ {
		got, _, err := store.CopyRows(ctx, db, q, chunk)
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d: rows differ", chunk)
		}
	}
	// An empty result is a header and a trailer.
	if rows, _, err := store.CopyRows(ctx, db, q+" WHERE false", 7); err != nil || len(rows) != 0 {
		t.Fatalf("empty result: %d rows, %v", len(rows), err)
	}
}

// TestBinaryCopyParserRejects feeds the parser broken streams.
func TestBinaryCopyParserRejects(t *testing.T) {
	_, raw, err := store.CopyRows(context.Background(), testdb.Open(t, store.Postgres), "SELECT 1::int, 'x'::text", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for name, stream := range map[string][]byte{
		"cut short":     raw[:len(raw)-3],
		"no trailer":    raw[:len(raw)-2],
		"bad signature": append([]byte("PGCOPY\n\377\r\n\x01"), raw[11:]...),
		"after trailer": append(append([]byte{}, raw...), 0, 1),
	} {
		err := store.ParseBinaryCopy(stream)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "binary COPY") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := store.ParseBinaryCopy(raw); err != nil {
		t.Errorf("intact stream: %v", err)
	}
}
