package web

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"testing"
)

// FuzzParseEvent feeds arbitrary request bodies to the decoding of lifecycle
// events (JSON, urlencoded and multipart, as pages and the API send them)
// and of the API's JSON requests: nothing may panic, and every refusal is an
// inputError naming the field, which the one error table maps to 400.
// Run: go test ./web -run '^$' -fuzz FuzzParseEvent -fuzztime 30s
func FuzzParseEvent(f *testing.F) {
	f.Add(uint8(0), []byte(`{"version":3,"comment":"已整改","deadline_days":5}`))
	f.Add(uint8(0), []byte(`{"version":"3"}`))
	f.Add(uint8(0), []byte(`{"version":1,"unknown":true}`))
	f.Add(uint8(0), []byte(`{"time":"2018-03-01T09:30","place":"<script>alert(1)</script>"}`))
	f.Add(uint8(0), []byte(`[1,2,3]`))
	f.Add(uint8(1), []byte("version=2&comment=%E5%B7%B2&deadline_days=x"))
	f.Add(uint8(1), []byte("version=99999999999999999999&reason=';DROP TABLE findings;--"))
	f.Add(uint8(2), fuzzMultipart(f, "../../etc/passwd", "version", "1"))
	f.Add(uint8(2), []byte("--B\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n1\r\n"))
	f.Add(uint8(3), []byte(`{"rules":"x","period":"2018-01-01..2018-06-30","scope":"all"}`))
	f.Add(uint8(4), []byte(`{"village":"V1","kind":"visit","date":"2018-03-01","count":-1}`))
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/findings/1/respond", bytes.NewReader(body))
		var err error
		switch mode % 5 {
		case 0:
			r.Header.Set("Content-Type", "application/json")
			_, err = parseEvent(r)
		case 1:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			_, err = parseEvent(r)
		case 2:
			r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
			_, err = parseEvent(r)
		case 3:
			r.Header.Set("Content-Type", "application/json")
			var req roundRequest
			err = decodeJSON(r, &req)
		case 4:
			r.Header.Set("Content-Type", "application/json")
			req := activityRequest{Count: 1}
			err = decodeJSON(r, &req)
		}
		if err == nil {
			return
		}
		var in *inputError
		if !errors.As(err, &in) || in.Field == "" || in.Msg == "" {
			t.Fatalf("refusal %T %v is not an inputError naming a field", err, err)
		}
		if status(err) != 400 {
			t.Fatalf("refusal %v maps to %d, want 400", err, status(err))
		}
	})
}

func fuzzMultipart(f *testing.F, filename string, kv ...string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary("B"); err != nil {
		f.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		w.WriteField(kv[i], kv[i+1])
	}
	fw, err := w.CreateFormFile("evidence", filename)
	if err != nil {
		f.Fatal(err)
	}
	fw.Write([]byte("%PDF-1.4 evidence"))
	w.Close()
	return b.Bytes()
}
