package store_test

import (
	"context"
	"testing"

	"ducha/internal/testdb"
	"ducha/store"
)

func TestMigrateIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v1, err := db.Version(ctx)
		if err != nil || v1 < 1 {
			t.Fatalf("version after open = %d, %v", v1, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v2, _ := db.Version(ctx)
		if v2 != v1 {
			t.Fatalf("version changed from %d to %d", v1, v2)
		}
	})
}
