package detector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero fields of Options, and for PollAll.
const (
	// DefaultUserAgent is sent when Options.UserAgent is empty; callers
	// should set one with the real version.
	DefaultUserAgent = "carrierwatch/dev (+https://github.com/carrierwatch/carrierwatch)"
	// DefaultTimeout bounds a whole request, body included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBytes caps a response body (5 MiB).
	DefaultMaxBytes = 5 << 20
	// DefaultBaseBackoff is the backoff ceiling after the first failure.
	DefaultBaseBackoff = time.Minute
	// DefaultMaxBackoff is the highest backoff ceiling.
	DefaultMaxBackoff = time.Hour
	// DefaultWorkers is PollAll's concurrency, and the idle connections
	// the default client keeps per host.
	DefaultWorkers = 8
	// MaxRedirects is how many redirects the default client follows.
	MaxRedirects = 5
	// MaxRetryAfter caps a server's Retry-After, so that no answer stops
	// polling for good.
	MaxRetryAfter = 24 * time.Hour
)

// maxErrorLen bounds State.LastError.
const maxErrorLen = 500

// Errors callers may test with errors.Is.
var (
	// ErrTooLarge: the response is larger than Options.MaxBytes.
	ErrTooLarge = errors.New("response too large")
	// ErrTooManyRedirects: more than MaxRedirects redirects.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrRedirectLoop: a redirect led back to a URL already visited.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrStructure: a feed or index page that listed notices (with
	// dates) before suddenly lists none (or none with a date): the page
	// was redesigned or an error page is served with status 200. The
	// last good state is kept; nothing is read from this answer.
	ErrStructure = errors.New("source structure changed")
)

// StatusError is an HTTP answer other than 2xx or 304.
type StatusError struct {
	Code int
	// RetryAfter is the server's Retry-After on 429 and 503, capped at
	// MaxRetryAfter; 0 when absent or unparsable.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("http status %d %s", e.Code, http.StatusText(e.Code))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// State is one source's polling state. Callers store it (as JSON) between
// polls and across restarts; the zero value is a source never polled.
type State struct {
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Failures     int       `json:"failures,omitempty"`    // consecutive failed polls
	RetryAt      time.Time `json:"retry_at,omitzero"`     // do not poll before this
	LastPoll     time.Time `json:"last_poll,omitzero"`    // last attempt
	LastSuccess  time.Time `json:"last_success,omitzero"` // last 2xx or 304
	LastError    string    `json:"last_error,omitempty"`  // of the last failed poll; "" after a success
	// Second holds the validators of a source's second document, for a
	// source read from two (statuspage: components.json; ETag and
	// LastModified are incidents.json's).
	Second Validators `json:"second,omitzero"`
	// Listed and Dated are how many notices the last good read of a
	// feed or an index page (items) yielded, and how many of them had a
	// date: a list that suddenly yields none, or no dates, has changed
	// structure (ErrStructure).
	Listed int `json:"listed,omitempty"`
	Dated  int `json:"dated,omitempty"`
	// Broken is true while the last poll got an answer whose structure is
	// wrong (ErrStructure, ErrNoSelection, ErrNotFeed): unlike a timeout,
	// it will not pass by itself; an admin must look.
	Broken bool `json:"broken,omitempty"`
}

// Result is what one successful or failed poll saw.
type Result struct {
	NotModified bool     // the server answered 304: no notices
	Notices     []Notice // in document order
	Status      int      // HTTP status, 0 when no response arrived
	Bytes       int64    // body bytes read
}

// Options configure a Fetcher. The zero value is usable.
type Options struct {
	// Client makes the requests. nil: a client built by the package that
	// follows at most MaxRedirects redirects and treats a loop as an error.
	Client *http.Client
	// UserAgent is sent with every request; "" means DefaultUserAgent.
	UserAgent string
	// Timeout bounds a whole request, body included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes caps a response body; a larger one is an error (ErrTooLarge),
	// never a silent truncation. 0 means DefaultMaxBytes.
	MaxBytes int64
	// BaseBackoff and MaxBackoff shape the delay after failures: the
	// ceiling doubles from BaseBackoff with each consecutive failure up to
	// MaxBackoff, and the delay is uniform in [0, ceiling] (full jitter).
	// 0 means DefaultBaseBackoff and DefaultMaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Logger receives debug records of each poll; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Fetcher polls sources. It is safe for concurrent use; it keeps no
// per-source data (that is State, owned by the caller).
type Fetcher struct {
	client    *http.Client
	userAgent string
	timeout   time.Duration
	maxBytes  int64
	base, max time.Duration
	log       *slog.Logger
	now       func() time.Time
	// jitter picks the delay in [0, ceiling]; tests replace it.
	jitter func(ceiling time.Duration) time.Duration
}

// NewFetcher returns a Fetcher with o's zero fields set to their defaults.
func NewFetcher(o Options) *Fetcher {
	f := &Fetcher{
		client:    o.Client,
		userAgent: o.UserAgent,
		timeout:   o.Timeout,
		maxBytes:  o.MaxBytes,
		base:      o.BaseBackoff,
		max:       o.MaxBackoff,
		log:       o.Logger,
		now:       o.Now,
		jitter:    fullJitter,
	}
	if f.userAgent == "" {
		f.userAgent = DefaultUserAgent
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.base <= 0 {
		f.base = DefaultBaseBackoff
	}
	if f.max <= 0 {
		f.max = DefaultMaxBackoff
	}
	if f.max < f.base {
		f.max = f.base
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.client == nil {
		f.client = newClient(f.timeout)
	}
	return f
}

func newClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = DefaultWorkers
	tr.ResponseHeaderTimeout = timeout
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: checkRedirect,
	}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	next := req.URL.String()
	for _, v := range via {
		if v.URL.String() == next {
			return fmt.Errorf("%w: back to %s", ErrRedirectLoop, next)
		}
	}
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, MaxRedirects)
	}
	return nil
}

func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// backoffCeiling is BaseBackoff doubled for each failure after the first,
// capped at MaxBackoff.
func (f *Fetcher) backoffCeiling(failures int) time.Duration {
	d := f.base
	for i := 1; i < failures && d < f.max; i++ {
		if d > f.max/2 {
			return f.max // and no overflow
		}
		d *= 2
	}
	return min(d, f.max)
}

// Due reports whether st allows a poll at now: no backoff or Retry-After
// is pending.
func (f *Fetcher) Due(st State, now time.Time) bool {
	return !now.Before(st.RetryAt)
}

// Poll fetches src once and returns its notices with the updated State.
//
// The request is a conditional GET (If-None-Match and If-Modified-Since from
// st); a 304 is a success with Result.NotModified. A 2xx body is read up to
// MaxBytes, decoded (charset from the header or the document) and parsed
// (see Parse). Anything else is an error: the returned State then has
// Failures incremented, LastError set and RetryAt set by backoff, or by the
// server's Retry-After on 429 and 503. State is returned with every error,
// except when ctx itself ends (a shutdown is not the source's fault): then st
// is returned unchanged.
//
// The new ETag and Last-Modified are in the returned State: store it only
// after the notices are safely handled, or a crash in between loses them
// (the next poll would get a 304). Poll is safe for concurrent use on
// different sources.
func (f *Fetcher) Poll(ctx context.Context, src Source, st State) (Result, State, error) {
	start := f.now()
	res, next, err := f.poll(ctx, src, st, start)
	if err != nil && ctx.Err() != nil {
		return res, st, fmt.Errorf("source %s: %w", src.ID, ctx.Err())
	}
	next.LastPoll = start
	if err != nil {
		next.Failures++
		next.LastError = truncate(err.Error(), maxErrorLen)
		next.Broken = errors.Is(err, ErrStructure) || errors.Is(err, ErrNoSelection) || errors.Is(err, ErrNotFeed)
		delay := f.jitter(f.backoffCeiling(next.Failures))
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			delay = se.RetryAfter
		}
		next.RetryAt = start.Add(delay)
	} else {
		next.Failures = 0
		next.LastError = ""
		next.Broken = false
		next.RetryAt = time.Time{}
		next.LastSuccess = start
	}
	if f.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("source_id", src.ID),
			slog.Int("status", res.Status),
			slog.Bool("not_modified", res.NotModified),
			slog.Int64("bytes", res.Bytes),
			slog.Int("notices", len(res.Notices)),
			slog.Int("failures", next.Failures),
			slog.Duration("duration", f.now().Sub(start)),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()), slog.Time("retry_at", next.RetryAt))
		}
		f.log.LogAttrs(ctx, slog.LevelDebug, "poll", attrs...)
	}
	return res, next, err
}

func (f *Fetcher) poll(ctx context.Context, src Source, st State, now time.Time) (Result, State, error) {
	var res Result
	if err := ctx.Err(); err != nil {
		return res, st, err
	}
	if src.Type == TypeStatuspage {
		return f.pollStatuspage(ctx, src, st)
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return res, st, fmt.Errorf("source %s: %w: %w", src.ID, ErrSource, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	if src.Type == TypeFeed {
		req.Header.Set("Accept", "application/rss+xml, application/rdf+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
	} else {
		req.Header.Set("Accept", "text/html, application/xhtml+xml;q=0.9, */*;q=0.8")
	}
	if st.ETag != "" {
		req.Header.Set("If-None-Match", st.ETag)
	}
	if st.LastModified != "" {
		req.Header.Set("If-Modified-Since", st.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return res, st, fmt.Errorf("source %s: fetch: %w", src.ID, err)
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode

	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.NotModified = true
		if v := resp.Header.Get("ETag"); v != "" {
			st.ETag = v
		}
		if v := resp.Header.Get("Last-Modified"); v != "" {
			st.LastModified = v
		}
		return res, st, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		se := &StatusError{Code: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		}
		// Drain a little so the connection can be reused.
		n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		res.Bytes = n
		return res, st, fmt.Errorf("source %s: fetch %s: %w", src.ID, src.URL, se)
	}

	body, err := f.readBody(resp)
	res.Bytes = int64(len(body))
	if err != nil {
		return res, st, fmt.Errorf("source %s: read %s: %w", src.ID, src.URL, err)
	}
	ns, err := Parse(src, body, resp.Header.Get("Content-Type"))
	if err != nil {
		return res, st, err
	}
	if src.Type == TypeFeed || src.Items != "" {
		dated := 0
		for _, n := range ns {
			if !n.Published.IsZero() {
				dated++
			}
		}
		switch {
		case len(ns) == 0 && st.Listed > 0:
			return res, st, fmt.Errorf("source %s: %w: it lists no notices (the last good read listed %d); check the URL and the items selector %q with `carrierwatch rules test %s`",
				src.ID, ErrStructure, st.Listed, src.Items, src.URL)
		case dated == 0 && st.Dated > 0:
			return res, st, fmt.Errorf("source %s: %w: none of its %d notices has a date (the last good read had %d dated); check the page with `carrierwatch rules test %s`",
				src.ID, ErrStructure, len(ns), st.Dated, src.URL)
		}
		st.Listed, st.Dated = len(ns), dated
	}
	res.Notices = ns
	st.ETag = resp.Header.Get("ETag")
	st.LastModified = resp.Header.Get("Last-Modified")
	return res, st, nil
}

// readBody reads at most maxBytes; more is ErrTooLarge. Memory stays
// bounded by maxBytes whatever the server sends or declares: the buffer
// doubles from a small start (or the declared length) and never grows past
// maxBytes+1.
func (f *Fetcher) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrTooLarge, resp.ContentLength, f.maxBytes)
	}
	limit := f.maxBytes + 1
	initial := int64(32 << 10)
	if resp.ContentLength >= 0 {
		initial = resp.ContentLength + 1 // +1 to see EOF without growing
	}
	buf := make([]byte, 0, min(initial, limit))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf[:f.maxBytes], fmt.Errorf("%w: more than %d bytes", ErrTooLarge, f.maxBytes)
			}
			grown := make([]byte, len(buf), min(max(2*int64(cap(buf)), 32<<10), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(buf)) > f.maxBytes {
				return buf[:f.maxBytes], fmt.Errorf("%w: more than %d bytes", ErrTooLarge, f.maxBytes)
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date, capped at
// MaxRetryAfter; 0 when absent, past or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// PollOutcome is one source's part of a PollAll cycle.
type PollOutcome struct {
	Result Result
	State  State // the state to store; unchanged when Skipped
	Err    error
	// Skipped is true when the source was not Due, or ctx ended before its
	// turn (then Err is ctx's error).
	Skipped bool
	// Took is how long the fetch took (0 when Skipped).
	Took time.Duration
}

// PollAll polls every due source (srcs[i] with states[i]; a missing state
// is the zero State) with at most workers concurrent requests (0 means
// DefaultWorkers) and returns one outcome per source, in order.
func (f *Fetcher) PollAll(ctx context.Context, srcs []Source, states []State, workers int) []PollOutcome {
	out := make([]PollOutcome, len(srcs))
	if workers <= 0 {
		workers = DefaultWorkers
	}
	workers = min(workers, len(srcs))
	now := f.now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				var st State
				if i < len(states) {
					st = states[i]
				}
				if err := ctx.Err(); err != nil {
					out[i] = PollOutcome{State: st, Err: err, Skipped: true}
					continue
				}
				start := time.Now()
				res, next, err := f.Poll(ctx, srcs[i], st)
				out[i] = PollOutcome{Result: res, State: next, Err: err, Took: time.Since(start)}
			}
		})
	}
	for i := range srcs {
		if i < len(states) && !f.Due(states[i], now) {
			out[i] = PollOutcome{State: states[i], Skipped: true}
			continue
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}
