package notify_test

import (
	"testing"

	"ducha/notify"
)

// BenchmarkRenderOrder renders an order (整改通知), the message a round
// writes tens of thousands of.
func BenchmarkRenderOrder(b *testing.B) {
	t, err := notify.ParseTemplates(nil)
	if err != nil {
		b.Fatal(err)
	}
	d := notify.Sample(notify.Order, "http://localhost:8080")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := t.Render(notify.Order, d); err != nil {
			b.Fatal(err)
		}
	}
}
