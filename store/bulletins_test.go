package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"ducha/bulletin"
	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

func newBulletin(day time.Time) *bulletin.Bulletin {
	return &bulletin.Bulletin{Bureau: "某某县司法局", Date: day,
		Round:    bulletin.Round{Kind: "manual", Opened: day, Scope: "全县"},
		Problems: []bulletin.Finding{{Township: "城关镇", Village: "东风村", Adviser: "张明", Rule: "到村服务", Message: "无记录"}}}
}

// Concurrent publishes take every number of the year once: no gap, no duplicate.
func TestPublishBulletinNumbers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2018, 6, 8, 9, 0, 0, 0, workflow.Shanghai)
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.PublishBulletin(ctx, newBulletin(workflow.Date(2018, 6, 8)), 0, fmt.Sprintf("u%d", i), at)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// A publish that fails after taking its number returns the number.
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := store.PublishBulletin(ctx, tx, newBulletin(workflow.Date(2018, 7, 1)), 0, "x", at); err != nil {
				return err
			}
			return errors.New("abandon")
		})
		if err == nil || err.Error() != "abandon" {
			t.Fatalf("abandoned publish: %v", err)
		}
		next, err := db.PublishBulletin(ctx, newBulletin(workflow.Date(2018, 12, 31)), 0, "x", at)
		if err != nil {
			t.Fatal(err)
		}
		if next.Number != (bulletin.Number{Year: 2018, Seq: n + 1}) {
			t.Errorf("after %d publishes and a rollback the next is %s", n, next.Number)
		}
		other, err := db.PublishBulletin(ctx, newBulletin(workflow.Date(2019, 1, 2)), 0, "x", at)
		if err != nil || other.Number != (bulletin.Number{Year: 2019, Seq: 1}) {
			t.Errorf("first of 2019 = %v, %v", other, err)
		}
		list, err := db.Bulletins(ctx, 2018)
		if err != nil || len(list) != n+1 {
			t.Fatalf("list = %d, %v", len(list), err)
		}
		for i, p := range list {
			if p.Number.Seq != i+1 {
				t.Errorf("list[%d] = %s", i, p.Number)
			}
		}

		// Stored frozen: read back renders the same; updates and deletes refuse.
		got, err := db.Bulletin(ctx, bulletin.Number{Year: 2018, Seq: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got.Bulletin.Number != got.Number || got.Bulletin.Problems[0].Village != "东风村" || !got.PublishedAt.Equal(at) {
			t.Errorf("read back %+v", got)
		}
		if _, err := db.X.ExecContext(ctx, `UPDATE bulletins SET title = 'x'`); err == nil {
			t.Error("a published bulletin was updated")
		}
		if _, err := db.X.ExecContext(ctx, `DELETE FROM bulletins`); err == nil {
			t.Error("a published bulletin was deleted")
		}

		// A correction names the one it corrects; an unknown number is refused.
		c := newBulletin(workflow.Date(2018, 12, 31))
		c.Corrects = &bulletin.Correction{Number: bulletin.Number{Year: 2018, Seq: 3}, Reason: "东风村数据有误"}
		pc, err := db.PublishBulletin(ctx, c, 0, "x", at)
		if err != nil || pc.CorrectsID != got.ID || pc.Number.Seq != n+2 {
			t.Fatalf("correction = %+v, %v", pc, err)
		}
		c.Corrects.Number.Seq = 99
		var nf *store.BulletinNotFoundError
		if _, err := db.PublishBulletin(ctx, c, 0, "x", at); !errors.As(err, &nf) {
			t.Errorf("correcting an unknown bulletin: %v", err)
		}
		if _, err := db.Bulletin(ctx, bulletin.Number{Year: 2017, Seq: 1}); !errors.As(err, &nf) {
			t.Errorf("unknown bulletin: %v", err)
		}
	})
}
