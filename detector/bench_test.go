package detector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkPoll200NotModified measures one polling cycle of 200 sources on
// one server that answers every conditional GET with 304, through PollAll
// with DefaultWorkers workers and the package's own client. It also reports
// idle-heap-B: the live heap held between cycles by the Fetcher, its 200
// States and the idle keep-alive connections (both ends, as the test server
// is in-process).
//
//	go test ./detector/ -run '^$' -bench Poll200 -benchtime 50x
func BenchmarkPoll200NotModified(b *testing.B) {
	feed := readFixture(b, "feeds/docomo-network.rdf")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag := `"` + r.URL.Path + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rdf+xml")
		w.Write(feed)
	}))
	defer srv.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	f := NewFetcher(Options{})
	srcs := make([]Source, 200)
	for i := range srcs {
		srcs[i] = Source{ID: fmt.Sprintf("c%d/0", i), Type: TypeFeed, URL: fmt.Sprintf("%s/feed/%d", srv.URL, i)}
	}
	states := make([]State, len(srcs))
	for i, o := range f.PollAll(context.Background(), srcs, states, DefaultWorkers) {
		if o.Err != nil || o.State.ETag == "" {
			b.Fatalf("warm-up %d: %v", i, o.Err)
		}
		states[i] = o.State
	}

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, o := range f.PollAll(context.Background(), srcs, states, DefaultWorkers) {
			if o.Err != nil || !o.Result.NotModified {
				b.Fatalf("source %d: %v (not modified %v)", i, o.Err, o.Result.NotModified)
			}
		}
	}
	b.StopTimer()

	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "idle-heap-B")
	runtime.KeepAlive(f)
	runtime.KeepAlive(states)
}

func BenchmarkParsePage(b *testing.B) {
	page := readFixture(b, "pages/kddi-notice-2-partial.html")
	src := pageSource("kddi/1", "main")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, page, "text/html; charset=utf-8"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifyDefault(b *testing.B) {
	r := mustCompile(b, DefaultRules())
	ns := mustParse(b, pageSource("kddi/1", "main"), "pages/kddi-notice-1-outage.html", "")
	text := ns[0].ClassifyText()
	b.ReportAllocs()
	for b.Loop() {
		if v, _ := r.Classify(text); v != VerdictOutage {
			b.Fatal(v)
		}
	}
}
