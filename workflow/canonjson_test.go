package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// referenceHash is ComputeHash as it was first written, with encoding/json:
// the definition every stored hash was computed with.
func referenceHash(e *Entry) string {
	payload := "{}"
	if len(e.Payload) > 0 {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			panic(err)
		}
		payload = string(b)
	}
	b, err := json.Marshal([]any{
		e.FindingID, e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
		string(e.Event), string(e.From), string(e.To), e.Comment, payload, e.PrevHash,
	})
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func referencePayload(e *Entry) string {
	if len(e.Payload) == 0 {
		return "{}"
	}
	b, err := json.Marshal(e.Payload)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// awkward strings: every escape encoding/json makes, invalid UTF-8, the
// separators it escapes, and text as users write it.
var awkward = []string{
	"", "plain", "整改材料不全", "a\"b\\c", "<script>&amp;</script>", "\b\f\n\r\t", "\x00\x01\x1f\x7f",
	"\u2028\u2029", "bad \xff\xfe utf-8", "\xe4\xb8", "emoji 😀", "tail\\", "\u00e9\u0301", "\ufffd",
}

func TestCanonicalJSON(t *testing.T) {
	at := time.Date(2018, 2, 5, 10, 0, 0, 123456789, Shanghai)
	for i, s := range awkward {
		for j, u := range awkward {
			e := &Entry{FindingID: int64(i*100 + j), Seq: j - 3, At: at.Add(time.Duration(i) * time.Hour), Actor: s, Role: Role(u),
				Event: Event(s + u), From: State(u), To: State(s), Comment: u + s, PrevHash: s,
				Payload: map[string]string{s: u, u + "k": s, "reason": u}}
			if j%3 == 0 {
				e.Payload = nil
			}
			if got, want := e.PayloadJSON(), referencePayload(e); got != want {
				t.Fatalf("payload of %q, %q: %s, want %s", s, u, got, want)
			}
			if got, want := e.ComputeHash(), referenceHash(e); got != want {
				t.Fatalf("hash of %q, %q: %s, want %s", s, u, got, want)
			}
		}
	}
	// Times far from now, zones and zero nanoseconds.
	for _, at := range []time.Time{{}, time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12000, 12, 31, 23, 59, 59, 1, Shanghai),
		time.Date(2018, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -3600))} {
		e := &Entry{FindingID: -1, At: at}
		if got, want := e.ComputeHash(), referenceHash(e); got != want {
			t.Fatalf("hash at %v: %s, want %s", at, got, want)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for i, s := range awkward {
		f.Add(s, awkward[len(awkward)-1-i], int64(i), int64(i)*1e9+7)
	}
	f.Fuzz(func(t *testing.T, a, b string, id, nanos int64) {
		e := &Entry{FindingID: id, Seq: int(id % 1000), At: time.Unix(0, nanos), Actor: a, Role: Role(b), Event: Event(a),
			From: State(b), To: State(a), Comment: a + b, PrevHash: b, Payload: map[string]string{a: b, b: a, "x" + a: ""}}
		if got, want := e.PayloadJSON(), referencePayload(e); got != want {
			t.Fatalf("payload: %s, want %s", got, want)
		}
		if got, want := e.ComputeHash(), referenceHash(e); got != want {
			t.Fatalf("hash: %s, want %s", got, want)
		}
	})
}
