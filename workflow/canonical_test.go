package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The encodings as they were written with encoding/json: stored hashes
// depend on them.
func payloadJSONRef(p map[string]string) string {
	if len(p) == 0 {
		return "{}"
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func computeHashRef(e *Entry) string {
	b, err := json.Marshal([]any{
		e.FindingID, e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
		string(e.Event), string(e.From), string(e.To), e.Comment, payloadJSONRef(e.Payload), e.PrevHash,
	})
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var awkward = []string{"", "plain", `quote " back\slash`, "<b>&amp;</b>", "换行\n制表\t回车\r", "\b\f\x00\x1f\x7f",
	"bad \xff utf-8 \xe4\xb8", "line\u2028para\u2029", "整改期限 2018年7月16日", "\\\"", "emoji 😀"}

func TestCanonicalAsEncodingJSON(t *testing.T) {
	for _, s := range awkward {
		q, _ := json.Marshal(s)
		if got := string(appendJSONString(nil, s)); got != string(q) {
			t.Errorf("%q: got %s, want %s", s, got, q)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		bytes := rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOfN(rapid.Byte(), 0, 30).Draw(t, "bytes")) })
		gen := rapid.OneOf(rapid.String(), rapid.SampledFrom(awkward), bytes)
		e := &Entry{
			FindingID: rapid.Int64().Draw(t, "id"), Seq: rapid.Int().Draw(t, "seq"),
			At:    time.Unix(rapid.Int64Range(-1e10, 1e10).Draw(t, "sec"), rapid.Int64Range(0, 1e9-1).Draw(t, "ns")),
			Actor: gen.Draw(t, "actor"), Role: Role(gen.Draw(t, "role")), Event: Event(gen.Draw(t, "event")),
			From: State(gen.Draw(t, "from")), To: State(gen.Draw(t, "to")), Comment: gen.Draw(t, "comment"),
			Payload: rapid.MapOf(gen, gen).Draw(t, "payload"), PrevHash: gen.Draw(t, "prev"),
		}
		if got, want := e.PayloadJSON(), payloadJSONRef(e.Payload); got != want {
			t.Fatalf("payload %q: got %s, want %s", e.Payload, got, want)
		}
		if got, want := e.ComputeHash(), computeHashRef(e); got != want {
			t.Fatalf("hash of %+v: got %s, want %s", e, got, want)
		}
	})
}
