package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	c.set(time.Date(2022, 7, 2, 1, 35, 0, 0, time.UTC))
	return c
}
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func serveFixture(t *testing.T, name, contentType string) http.HandlerFunc {
	body := readFixture(t, name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

func TestPollConditionalGET(t *testing.T) {
	tests := []struct {
		name       string
		etag, lm   string
		wantHeader string
	}{
		{"etag", `"v1"`, "", "If-None-Match"},
		{"last-modified", "", "Sat, 02 Jul 2022 01:35:00 GMT", "If-Modified-Since"},
		{"both", `W/"v1"`, "Sat, 02 Jul 2022 01:35:00 GMT", "If-None-Match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readFixture(t, "feeds/docomo-network.rdf")
			var full, notModified atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got, want := r.Header.Get("User-Agent"), "carrierwatch/test"; got != want {
					t.Errorf("User-Agent = %q, want %q", got, want)
				}
				if (tt.etag != "" && r.Header.Get("If-None-Match") == tt.etag) ||
					(tt.etag == "" && tt.lm != "" && r.Header.Get("If-Modified-Since") == tt.lm) {
					notModified.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				full.Add(1)
				if tt.etag != "" {
					w.Header().Set("ETag", tt.etag)
				}
				if tt.lm != "" {
					w.Header().Set("Last-Modified", tt.lm)
				}
				w.Header().Set("Content-Type", "application/rdf+xml")
				w.Write(body)
			}))
			defer srv.Close()
			clk := newClock()
			f := NewFetcher(Options{UserAgent: "carrierwatch/test", Now: clk.now})
			src := Source{ID: "docomo/0", Type: TypeFeed, URL: srv.URL}

			res, st, err := f.Poll(context.Background(), src, State{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(res.Notices), 3; got != want || res.NotModified || res.Status != 200 {
				t.Fatalf("first poll: %d notices (want %d), not modified %v, status %d", got, want, res.NotModified, res.Status)
			}
			if got, want := res.Bytes, int64(len(body)); got != want {
				t.Errorf("Bytes = %d, want %d", got, want)
			}
			if st.ETag != tt.etag || st.LastModified != tt.lm {
				t.Errorf("state validators = %q %q, want %q %q", st.ETag, st.LastModified, tt.etag, tt.lm)
			}
			if !st.LastSuccess.Equal(clk.now()) || !st.LastPoll.Equal(clk.now()) {
				t.Errorf("LastSuccess %v LastPoll %v, want %v", st.LastSuccess, st.LastPoll, clk.now())
			}

			clk.add(time.Minute)
			res, st2, err := f.Poll(context.Background(), src, st)
			if err != nil {
				t.Fatal(err)
			}
			if !res.NotModified || len(res.Notices) != 0 || res.Status != http.StatusNotModified {
				t.Errorf("second poll: not modified %v, %d notices, status %d", res.NotModified, len(res.Notices), res.Status)
			}
			if st2.ETag != tt.etag || st2.LastModified != tt.lm || !st2.LastSuccess.Equal(clk.now()) || st2.Failures != 0 {
				t.Errorf("state after 304 = %+v", st2)
			}
			if got, want := [2]int32{full.Load(), notModified.Load()}, [2]int32{1, 1}; got != want {
				t.Errorf("server saw (full, 304) = %v, want %v", got, want)
			}
		})
	}
}

func TestPollRetryAfter(t *testing.T) {
	clk := newClock()
	date := clk.now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantDelay  time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "120", 120 * time.Second},
		{"503 HTTP date", http.StatusServiceUnavailable, date, 2 * time.Hour},
		{"503 huge value capped", http.StatusServiceUnavailable, "999999999", MaxRetryAfter},
		{"503 garbage falls back to backoff", http.StatusServiceUnavailable, "soon", time.Minute},
		{"500 ignores Retry-After", http.StatusInternalServerError, "120", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			f := NewFetcher(Options{Now: clk.now})
			f.jitter = func(c time.Duration) time.Duration { return c }
			res, st, err := f.Poll(context.Background(), Source{ID: "s/0", Type: TypeFeed, URL: srv.URL}, State{})
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.status {
				t.Fatalf("err = %v, want StatusError %d", err, tt.status)
			}
			if res.Status != tt.status {
				t.Errorf("Result.Status = %d, want %d", res.Status, tt.status)
			}
			if got, want := st.RetryAt.Sub(clk.now()), tt.wantDelay; got != want {
				t.Errorf("RetryAt - now = %v, want %v", got, want)
			}
			if f.Due(st, clk.now().Add(tt.wantDelay-time.Second)) {
				t.Errorf("Due before RetryAt")
			}
			if !f.Due(st, clk.now().Add(tt.wantDelay)) {
				t.Errorf("not Due at RetryAt")
			}
			if got, want := st.Failures, 1; got != want {
				t.Errorf("Failures = %d, want %d", got, want)
			}
			if !strings.Contains(st.LastError, fmt.Sprint(tt.status)) {
				t.Errorf("LastError = %q", st.LastError)
			}
		})
	}
}

func TestPollBackoff(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var fail atomic.Bool
			fail.Store(true)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if fail.Load() {
					http.Error(w, "nope", status)
					return
				}
				serveFixture(t, "feeds/softbank-style.rss", "application/rss+xml")(w, r)
			}))
			defer srv.Close()
			clk := newClock()
			f := NewFetcher(Options{Now: clk.now})
			f.jitter = func(c time.Duration) time.Duration { return c } // the ceiling
			src := Source{ID: "sb/0", Type: TypeFeed, URL: srv.URL}
			want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}
			var st State
			for i, w := range want {
				var err error
				_, st, err = f.Poll(context.Background(), src, st)
				if err == nil {
					t.Fatalf("poll %d: no error", i)
				}
				if got, want := st.Failures, i+1; got != want {
					t.Errorf("poll %d: Failures = %d, want %d", i, got, want)
				}
				if got, want := st.RetryAt.Sub(clk.now()), w*time.Minute; got != want {
					t.Errorf("poll %d: delay = %v, want %v", i, got, want)
				}
				if !f.Due(st, st.RetryAt) {
					t.Errorf("poll %d: not due at RetryAt: backoff must never be permanent", i)
				}
				clk.set(st.RetryAt)
			}
			// Very many failures: still capped, no overflow.
			st.Failures = 1 << 30
			_, st, _ = f.Poll(context.Background(), src, st)
			if got, want := st.RetryAt.Sub(clk.now()), time.Hour; got != want {
				t.Errorf("after 2^30 failures: delay = %v, want %v", got, want)
			}
			// Recovery resets.
			fail.Store(false)
			clk.set(st.RetryAt)
			res, st, err := f.Poll(context.Background(), src, st)
			if err != nil {
				t.Fatal(err)
			}
			if st.Failures != 0 || !st.RetryAt.IsZero() || st.LastError != "" || len(res.Notices) != 2 {
				t.Errorf("after recovery: %+v, %d notices", st, len(res.Notices))
			}
		})
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	f := NewFetcher(Options{BaseBackoff: time.Second, MaxBackoff: 10 * time.Second})
	for failures := 1; failures <= 20; failures++ {
		ceiling := f.backoffCeiling(failures)
		if ceiling > 10*time.Second || ceiling < time.Second {
			t.Fatalf("failures %d: ceiling %v outside [1s, 10s]", failures, ceiling)
		}
		for range 50 {
			if d := f.jitter(ceiling); d < 0 || d > ceiling {
				t.Fatalf("jitter(%v) = %v", ceiling, d)
			}
		}
	}
}

func TestPollTooLarge(t *testing.T) {
	const size = 50 << 20
	chunk := bytes.Repeat([]byte("<item><title>障害</title></item>"), 1024)
	tests := []struct {
		name          string
		contentLength bool
	}{
		{"streamed", false},
		{"declared Content-Length", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				if tt.contentLength {
					w.Header().Set("Content-Length", fmt.Sprint(size))
				}
				w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel>`))
				for sent := 0; sent < size; sent += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			const maxBytes = 1 << 20
			f := NewFetcher(Options{MaxBytes: maxBytes})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res, st, err := f.Poll(context.Background(), Source{ID: "big/0", Type: TypeFeed, URL: srv.URL}, State{})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if st.Failures != 1 || len(res.Notices) != 0 {
				t.Errorf("Failures = %d, %d notices", st.Failures, len(res.Notices))
			}
			if res.Bytes > maxBytes {
				t.Errorf("Bytes = %d, more than the cap", res.Bytes)
			}
			// Reading stops at the cap: far less than 50 MB is allocated.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10*maxBytes {
				t.Errorf("allocated %d MiB for a 50 MB response", alloc>>20)
			}
		})
	}
}

func TestPollSlowServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.WriteHeader(http.StatusOK)
		for _, b := range []byte(`<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</title></item></channel></rss>`) {
			w.Write([]byte{b})
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}))
	defer srv.Close()
	f := NewFetcher(Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, st, err := f.Poll(context.Background(), Source{ID: "slow/0", Type: TypeFeed, URL: srv.URL}, State{})
	if err == nil {
		t.Fatal("no error from a server sending one byte a second")
	}
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("err = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Poll took %v with a 300ms timeout", elapsed)
	}
	if st.Failures != 1 {
		t.Errorf("Failures = %d, want 1", st.Failures)
	}
}

func TestPollRedirects(t *testing.T) {
	feed := readFixture(t, "feeds/softbank-style.rss")
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/pong", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/pong", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ping", http.StatusFound)
	})
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write(feed)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		path    string
		wantErr error
	}{
		{"/loop", ErrRedirectLoop},
		{"/ping", ErrRedirectLoop},
		{fmt.Sprintf("/hop/%d", MaxRedirects), nil},
		{fmt.Sprintf("/hop/%d", MaxRedirects+1), ErrTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f := NewFetcher(Options{})
			res, st, err := f.Poll(context.Background(), Source{ID: "r/0", Type: TypeFeed, URL: srv.URL + tt.path}, State{})
			if tt.wantErr == nil {
				if err != nil || len(res.Notices) != 2 {
					t.Fatalf("err = %v, %d notices", err, len(res.Notices))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if st.Failures != 1 || st.RetryAt.IsZero() {
				t.Errorf("state = %+v", st)
			}
		})
	}
}

func TestPollHTMLInsteadOfFeed(t *testing.T) {
	srv := httptest.NewServer(serveFixture(t, "pages/kddi-notice-1-outage.html", "text/html; charset=utf-8"))
	defer srv.Close()
	f := NewFetcher(Options{})
	res, st, err := f.Poll(context.Background(), Source{ID: "kddi/0", Type: TypeFeed, URL: srv.URL}, State{})
	if !errors.Is(err, ErrNotFeed) {
		t.Fatalf("err = %v, want ErrNotFeed", err)
	}
	if got, want := err.Error(), "source kddi/0: not a feed: got an HTML page"; !strings.HasPrefix(got, want) {
		t.Errorf("err = %q, want prefix %q", got, want)
	}
	if res.Status != 200 || st.Failures != 1 || st.ETag != "" {
		t.Errorf("status %d, state %+v", res.Status, st)
	}
}

func TestPollGarbage(t *testing.T) {
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(garbage)
	}))
	defer srv.Close()
	_, st, err := NewFetcher(Options{}).Poll(context.Background(), Source{ID: "g/0", Type: TypeFeed, URL: srv.URL}, State{})
	if !errors.Is(err, ErrNotFeed) || st.Failures != 1 {
		t.Fatalf("err = %v, failures %d", err, st.Failures)
	}
}

// TestPollGUIDChurn: a feed whose items get a new GUID on every fetch keeps
// its content identity.
func TestPollGUIDChurn(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">%d-a</guid><title>通信障害のお知らせ</title><description>ご利用しづらい状況です</description></item>
<item><guid isPermaLink="false">%d-b</guid><title>工事のお知らせ</title><description>深夜に工事を行います</description></item>
</channel></rss>`, i, i)
	}))
	defer srv.Close()
	f := NewFetcher(Options{})
	src := Source{ID: "churn/0", Type: TypeFeed, URL: srv.URL}
	r1, st, err := f.Poll(context.Background(), src, State{})
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := f.Poll(context.Background(), src, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Notices) != 2 || len(r2.Notices) != 2 {
		t.Fatalf("notices: %d then %d", len(r1.Notices), len(r2.Notices))
	}
	for i := range r1.Notices {
		if r1.Notices[i].Key == r2.Notices[i].Key {
			t.Errorf("item %d: Key did not churn (%q): test server broken", i, r1.Notices[i].Key)
		}
		if r1.Notices[i].Hash != r2.Notices[i].Hash {
			t.Errorf("item %d: Hash changed with the GUID", i)
		}
	}
	if r1.Notices[0].Hash == r1.Notices[1].Hash {
		t.Errorf("different items share a Hash")
	}
}

func TestPollShiftJISOverHTTP(t *testing.T) {
	sjis := readFixture(t, "feeds/mvno-shiftjis.rss")
	noDecl := bytes.Replace(sjis, []byte(`<?xml version="1.0" encoding="Shift_JIS"?>`), nil, 1)
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"header", "application/rss+xml; charset=Shift_JIS", noDecl},
		{"XML declaration", "application/rss+xml", sjis},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Write(tt.body)
			}))
			defer srv.Close()
			res, _, err := NewFetcher(Options{}).Poll(context.Background(), Source{ID: "mvno/0", Type: TypeFeed, URL: srv.URL}, State{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := res.Notices[0].Title, "【障害】Aプランにおける音声通話・SMSがご利用しづらい事象について"; got != want {
				t.Errorf("Title = %q, want %q", got, want)
			}
		})
	}
}

func TestPollPageInPlaceEdits(t *testing.T) {
	var page atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page.Load().([]byte))
	}))
	defer srv.Close()
	rules := mustCompile(t, DefaultRules())
	f := NewFetcher(Options{})
	src := Source{ID: "kddi/1", Type: TypePage, URL: srv.URL + "/important/notice.html", Selector: "main"}
	var (
		st     State
		hashes []string
	)
	for _, tt := range []struct {
		file string
		want Verdict
	}{
		{"pages/kddi-notice-1-outage.html", VerdictOutage},
		{"pages/kddi-notice-2-partial.html", VerdictNotResolved},
		{"pages/kddi-notice-3-recovered.html", VerdictResolved},
	} {
		page.Store(readFixture(t, tt.file))
		res, next, err := f.Poll(context.Background(), src, st)
		if err != nil {
			t.Fatal(err)
		}
		st = next
		if got, want := len(res.Notices), 1; got != want {
			t.Fatalf("%s: %d notices, want %d", tt.file, got, want)
		}
		n := res.Notices[0]
		if got, want := n.Key, src.URL; got != want {
			t.Errorf("%s: Key = %q, want %q", tt.file, got, want)
		}
		if v, _ := rules.Classify(n.ClassifyText()); v != tt.want {
			t.Errorf("%s: verdict %q, want %q", tt.file, v, tt.want)
		}
		hashes = append(hashes, n.Hash)
	}
	if hashes[0] == hashes[1] || hashes[1] == hashes[2] {
		t.Errorf("in-place edits kept the hash: %v", hashes)
	}
}

func TestPollContextCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	before := State{ETag: `"x"`, Failures: 2}
	_, st, err := NewFetcher(Options{}).Poll(ctx, Source{ID: "c/0", Type: TypeFeed, URL: srv.URL}, before)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st != before {
		t.Errorf("state changed on shutdown: %+v", st)
	}
}

func TestPollBadURL(t *testing.T) {
	_, st, err := NewFetcher(Options{}).Poll(context.Background(), Source{ID: "u/0", Type: TypeFeed, URL: "http://[::1"}, State{})
	if !errors.Is(err, ErrSource) || st.Failures != 1 {
		t.Fatalf("err = %v, failures %d", err, st.Failures)
	}
}

func TestPollAll(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/broken" {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		serveFixture(t, "feeds/docomo-network.rdf", "application/rdf+xml")(w, r)
	}))
	defer srv.Close()
	clk := newClock()
	f := NewFetcher(Options{Now: clk.now})
	srcs := []Source{
		{ID: "a/0", Type: TypeFeed, URL: srv.URL + "/a"},
		{ID: "b/0", Type: TypeFeed, URL: srv.URL + "/broken"},
		{ID: "c/0", Type: TypeFeed, URL: srv.URL + "/c"},
		{ID: "d/0", Type: TypeFeed, URL: srv.URL + "/d"},
	}
	states := []State{{}, {}, {RetryAt: clk.now().Add(time.Minute)}} // d has no state yet
	out := f.PollAll(context.Background(), srcs, states, 2)
	if got, want := len(out), len(srcs); got != want {
		t.Fatalf("%d outcomes, want %d", got, want)
	}
	if out[0].Err != nil || len(out[0].Result.Notices) != 3 || out[0].Skipped || out[0].Took <= 0 {
		t.Errorf("a: %+v", out[0])
	}
	if out[1].Err == nil || out[1].State.Failures != 1 {
		t.Errorf("b: %+v", out[1])
	}
	if !out[2].Skipped || out[2].State != states[2] {
		t.Errorf("c: not skipped while backing off: %+v", out[2])
	}
	if out[3].Err != nil || out[3].Skipped {
		t.Errorf("d: %+v", out[3])
	}
	if got, want := hits.Load(), int32(3); got != want {
		t.Errorf("server hits = %d, want %d", got, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, o := range f.PollAll(ctx, srcs, nil, 0) {
		if !errors.Is(o.Err, context.Canceled) || o.State.Failures != 0 {
			t.Errorf("cancelled cycle, source %d: %+v", i, o)
		}
	}
}

func TestPollSizeBoundary(t *testing.T) {
	const maxBytes = 64 << 10
	feed := readFixture(t, "feeds/softbank-style.rss")
	tests := []struct {
		name          string
		size          int
		contentLength bool
		wantErr       error
	}{
		{"exactly the cap, declared", maxBytes, true, nil},
		{"exactly the cap, streamed", maxBytes, false, nil},
		{"one byte over, declared", maxBytes + 1, true, ErrTooLarge},
		{"one byte over, streamed", maxBytes + 1, false, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := append(bytes.Clone(feed), bytes.Repeat([]byte(" "), tt.size-len(feed))...)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/rss+xml")
				if tt.contentLength {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				} else {
					w.Header().Set("Transfer-Encoding", "chunked")
				}
				for i := 0; i < len(body); i += 1000 {
					w.Write(body[i:min(i+1000, len(body))])
					w.(http.Flusher).Flush()
				}
			}))
			defer srv.Close()
			res, _, err := NewFetcher(Options{MaxBytes: maxBytes}).Poll(context.Background(), Source{ID: "b/0", Type: TypeFeed, URL: srv.URL}, State{})
			if tt.wantErr == nil {
				if err != nil || len(res.Notices) != 2 || res.Bytes != int64(tt.size) {
					t.Fatalf("err = %v, %d notices, %d bytes", err, len(res.Notices), res.Bytes)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPollLogs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	NewFetcher(Options{Logger: log}).Poll(context.Background(), Source{ID: "l/0", Type: TypeFeed, URL: srv.URL}, State{})
	for _, want := range []string{"msg=poll", "source_id=l/0", "status=502", "failures=1", "error=", "retry_at="} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	st := State{ETag: `W/"x"`, LastModified: "Sat, 02 Jul 2022 01:35:00 GMT", Failures: 3,
		RetryAt: time.Date(2022, 7, 2, 2, 0, 0, 0, time.UTC), LastPoll: time.Date(2022, 7, 2, 1, 59, 0, 0, time.UTC),
		LastError: "source x: fetch: boom"}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var got State
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got != st {
		t.Errorf("round trip: got %+v, want %+v", got, st)
	}
	if zero, _ := json.Marshal(State{}); string(zero) != "{}" {
		t.Errorf("zero State = %s, want {}", zero)
	}
}

func TestBackoffCeilingNoOverflow(t *testing.T) {
	f := NewFetcher(Options{BaseBackoff: time.Duration(1) << 61, MaxBackoff: time.Duration(1<<63 - 1)})
	for _, failures := range []int{1, 2, 3, 4, 100} {
		if d := f.backoffCeiling(failures); d < f.base || d > f.max {
			t.Errorf("failures %d: ceiling %v", failures, d)
		}
	}
}
