package notify_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
)

// BenchmarkDispatchWebhookPostgres dispatches b.N queued messages to a
// local webhook sink on PostgreSQL with two dispatchers (as two `ducha
// serve` processes would) and reports messages per second. Run with e.g.
//
//	go test -run '^$' -bench DispatchWebhook -benchtime 20000x ./notify/
func BenchmarkDispatchWebhookPostgres(b *testing.B) {
	db := testdb.Open(b, store.Postgres)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	ms := make([]notify.Message, 0, b.N)
	for i := range b.N {
		ms = append(ms, notify.Message{Kind: notify.Order, Cause: fmt.Sprintf("finding:%d:seq:1", i), Recipient: "channel:ops",
			Channel: "ops", Subject: "【整改通知】桃源村：每月到村服务不少于1次", Body: "李明：\n\n请于2018年4月20日前完成整改。", CreatedAt: now})
	}
	if err := db.Enqueue(ctx, ms); err != nil {
		b.Fatal(err)
	}
	cfg := notify.DispatchConfig{Batch: 500, Workers: 48}
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range 2 {
		d := notify.NewDispatcher(db.Outbox(), []notify.Channel{
			notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, time.Now)},
			cfg, rand.New(rand.NewPCG(uint64(i), 1)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := d.RunOnce(ctx, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if hits.Load() != int64(b.N) {
		b.Fatalf("sink got %d deliveries, want %d", hits.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
