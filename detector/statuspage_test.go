package detector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/statuspagetest"
)

func statuspageSource(url string, components ...string) Source {
	return Source{ID: "provider/status", Type: TypeStatuspage, URL: url, Components: components}
}

// TestStatuspageLifecycle polls a fake Statuspage through an SMS outage:
// the verdict is the page's statuses, not text rules; unchanged documents
// are 304s; each state is one notice with a stable key.
func TestStatuspageLifecycle(t *testing.T) {
	sp := statuspagetest.New(t)
	f := NewFetcher(Options{})
	src := statuspageSource(sp.URL, "SMS", "Voice")
	var st State
	poll := func(state string) Result {
		t.Helper()
		if state != "" {
			sp.Set(t, state)
		}
		res, next, err := f.Poll(context.Background(), src, st)
		if err != nil {
			t.Fatalf("poll in state %q: %v", state, err)
		}
		st = next
		return res
	}
	var key string
	steps := []struct {
		state string
		want  Verdict
		title string
		rule  string
	}{
		{statuspagetest.Operational, VerdictResolved, "Example SMS Provider: all watched components operational", "statuspage: all watched components operational, no open incident"},
		{statuspagetest.Outage, VerdictOutage, "SMS delivery failures to Japanese mobile networks", "statuspage: component SMS major_outage"},
		{statuspagetest.Monitoring, VerdictNotResolved, "SMS delivery failures to Japanese mobile networks", "statuspage: incident monitoring"},
		{statuspagetest.Resolved, VerdictResolved, "Example SMS Provider: all watched components operational", "statuspage: all watched components operational, no open incident"},
		{statuspagetest.Unrelated, VerdictResolved, "Example SMS Provider: all watched components operational", ""},
		{statuspagetest.Maintenance, VerdictResolved, "Example SMS Provider: all watched components operational", ""},
	}
	hashes := map[string]bool{}
	for _, s := range steps {
		res := poll(s.state)
		if res.NotModified || len(res.Notices) != 1 {
			t.Fatalf("state %s: not modified %v, %d notices; want one", s.state, res.NotModified, len(res.Notices))
		}
		n := res.Notices[0]
		v, rule := (*Rules)(nil).ClassifyNotice(n)
		if v != s.want || n.Title != s.title || s.rule != "" && rule != s.rule {
			t.Errorf("state %s: %s %q (rule %q), want %s %q (rule %q)", s.state, v, n.Title, rule, s.want, s.title, s.rule)
		}
		if key == "" {
			key = n.Key
		} else if n.Key != key {
			t.Errorf("state %s: key %q, want the page's one key %q", s.state, n.Key, key)
		}
		hashes[n.Hash] = true
		if s.state == statuspagetest.Outage && n.Link != sp.URL+"/incidents/p31zjtct2jer" {
			t.Errorf("outage notice links %q, want the incident's page on the status page", n.Link)
		}
	}
	// Unrelated is operational again as far as SMS and Voice go, with the
	// same last change: the same notice as the first.
	if got, want := len(hashes), 5; got != want {
		t.Errorf("%d distinct notices, want %d", got, want)
	}
	before := sp.NotModified()
	if res := poll(""); !res.NotModified || len(res.Notices) != 0 {
		t.Errorf("unchanged page: not modified %v, %d notices", res.NotModified, len(res.Notices))
	}
	if got := sp.NotModified() - before; got != 2 {
		t.Errorf("%d 304 answers for the unchanged page, want 2 (both documents)", got)
	}
}

// TestStatuspageOneDocumentChanged: when only components.json changes, the
// unchanged incidents.json is fetched again in full (the notice is made of
// both).
func TestStatuspageOneDocumentChanged(t *testing.T) {
	sp := statuspagetest.New(t)
	f := NewFetcher(Options{})
	src := statuspageSource(sp.URL, "SMS")
	_, st, err := f.Poll(context.Background(), src, State{})
	if err != nil {
		t.Fatal(err)
	}
	sp.SetDocument(statuspagetest.ComponentsPath, statuspagetest.Document(t, statuspagetest.Outage, statuspagetest.ComponentsPath), "application/json")
	res, _, err := f.Poll(context.Background(), src, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notices) != 1 || res.Notices[0].Verdict != VerdictOutage {
		t.Fatalf("notices %+v, want one outage (SMS at major_outage, no incident yet)", res.Notices)
	}
	if got, want := res.Notices[0].Title, "Example SMS Provider: SMS major outage"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got := sp.Requests()[statuspagetest.IncidentsPath]; got != 3 {
		t.Errorf("incidents.json requests = %d, want 3 (first poll, 304, full again)", got)
	}
}

func TestStatuspageWholePage(t *testing.T) {
	sp := statuspagetest.New(t)
	sp.Set(t, statuspagetest.Unrelated)
	res, _, err := NewFetcher(Options{}).Poll(context.Background(), statuspageSource(sp.URL), State{})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Notices[0]; n.Verdict != VerdictOutage || n.Title != "Customer Portal login errors" {
		t.Errorf("whole page: %s %q, want the portal incident as an outage", n.Verdict, n.Title)
	}
}

// TestStatuspageHostile: bad answers are clear source errors, and no
// notice comes out of them.
func TestStatuspageHostile(t *testing.T) {
	tests := []struct {
		name  string
		setup func(sp *statuspagetest.Server)
		src   func(url string) Source
		want  string
		is    error
	}{
		{"HTML instead of JSON", func(sp *statuspagetest.Server) {
			sp.SetDocument(statuspagetest.IncidentsPath, []byte("<html><body>Sign in</body></html>"), "text/html")
		}, nil, "incidents.json", ErrNotStatuspage},
		{"truncated JSON", func(sp *statuspagetest.Server) {
			b := statuspagetest.Document(t, statuspagetest.Outage, statuspagetest.ComponentsPath)
			sp.SetDocument(statuspagetest.ComponentsPath, b[:len(b)/2], "application/json")
		}, nil, "components.json", ErrNotStatuspage},
		{"JSON without the list", func(sp *statuspagetest.Server) {
			sp.SetDocument(statuspagetest.ComponentsPath, []byte(`{"page":{"name":"x"},"components":null}`), "application/json")
		}, nil, `no "components" list`, ErrNotStatuspage},
		{"a watched component the page lacks", func(*statuspagetest.Server) {}, func(url string) Source { return statuspageSource(url, "SMS", "Voise") },
			`components "Voise" not on the page (it has: SMS, Voice, REST API, Customer Portal)`, ErrSource},
		{"404", func(sp *statuspagetest.Server) { sp.SetDocument("/elsewhere", nil, "") }, func(string) Source {
			return statuspageSource("http://127.0.0.1:1/nothing")
		}, "fetch", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := statuspagetest.New(t)
			tt.setup(sp)
			src := statuspageSource(sp.URL, "SMS")
			if tt.src != nil {
				src = tt.src(sp.URL)
			}
			res, st, err := NewFetcher(Options{}).Poll(context.Background(), src, State{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %q (%v)", err, tt.want, tt.is)
			}
			if len(res.Notices) != 0 || st.Failures != 1 || st.ETag != "" {
				t.Errorf("notices %d, failures %d, etag %q after a bad answer", len(res.Notices), st.Failures, st.ETag)
			}
		})
	}
}

func TestStatuspageSizeCapAndTimeout(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"incidents":[` + strings.Repeat(`{"id":"x"},`, 20000) + `{}]}`))
	}))
	t.Cleanup(big.Close)
	_, _, err := NewFetcher(Options{MaxBytes: 64 << 10}).Poll(context.Background(), statuspageSource(big.URL), State{})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized document: err = %v, want ErrTooLarge", err)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	start := time.Now()
	_, st, err := NewFetcher(Options{Timeout: 200 * time.Millisecond}).Poll(context.Background(), statuspageSource(slow.URL), State{})
	if err == nil || time.Since(start) > 5*time.Second || st.Failures != 1 {
		t.Errorf("hanging page: err %v after %v, failures %d", err, time.Since(start), st.Failures)
	}
}

func TestStatuspageSourceValidate(t *testing.T) {
	for name, tt := range map[string]struct {
		src  Source
		want string
	}{
		"a document URL":  {Source{ID: "p", Type: TypeStatuspage, URL: "https://status.example.com/api/v2/summary.json"}, "base URL"},
		"blank component": {Source{ID: "p", Type: TypeStatuspage, URL: "https://status.example.com", Components: []string{"SMS", " "}}, "components[1]: empty name"},
		"repeated":        {Source{ID: "p", Type: TypeStatuspage, URL: "https://status.example.com", Components: []string{"SMS", "sms"}}, `components[1]: "sms" is listed twice`},
		"a selector":      {Source{ID: "p", Type: TypeStatuspage, URL: "https://status.example.com", Selector: "main"}, "only for type page"},
	} {
		if err := tt.src.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want %q", name, err, tt.want)
		}
	}
	if err := (Source{ID: "p", Type: TypeStatuspage, URL: "https://status.example.com", Components: []string{"SMS"}}).Validate(); err != nil {
		t.Errorf("valid source: %v", err)
	}
}

// TestStatuspageNoticeIsNational: the page's notice keeps its stated
// verdict through Analyze and is national, whatever its English text
// says of regions or services ("Japanese mobile networks", "Voice calls
// are not affected").
func TestStatuspageNoticeIsNational(t *testing.T) {
	sp := statuspagetest.New(t)
	sp.Set(t, statuspagetest.Outage)
	res, _, err := NewFetcher(Options{}).Poll(context.Background(), statuspageSource(sp.URL, "SMS"), State{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := CompileRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	n := res.Notices[0]
	a := rules.Analyze(n, n.Published)
	if a.Verdict != VerdictOutage || a.Scope != ScopeNational || len(a.Areas) != 0 || a.Service != ServiceMobile {
		t.Errorf("Analyze = %+v, want a national mobile outage", a)
	}
}
