package publish

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// notices is a Source holding a fixed list.
type notices struct {
	mu sync.Mutex
	ns []Notice
}

func (s *notices) Notices(context.Context) ([]Notice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notice(nil), s.ns...), nil
}

func (s *notices) set(ns []Notice) {
	s.mu.Lock()
	s.ns = ns
	s.mu.Unlock()
}

var _ Source = (*notices)(nil)

func newPublisher(t testing.TB, src Source, base string) (*Publisher, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "public")
	p, err := New(src, Options{
		Dir: dir, BaseURL: base, Author: "IT Help",
		Links: Links{SupportForm: "https://forms.example.ac.jp/mfa?carrier={carrier}&incident={incident}&upn={upn}&phone={masked_phone}", MFASetup: "https://www.example.ac.jp/mfa/setup"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, dir
}

func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test ./publish -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./publish -update rewrites it)\n--- got ---\n%s", path, got)
	}
}

func TestRenderGolden(t *testing.T) {
	src := &notices{ns: sampleNotices()}
	p, dir := newPublisher(t, src, "https://www.example.ac.jp/mfa-notice/")
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Incidents, 3; got != want {
		t.Fatalf("published %d incidents, want %d", got, want)
	}
	want := []string{"index.html", "index.en.html", "notices.atom"}
	for _, id := range []int64{1, 2, 3} {
		want = append(want, IncidentFile(id, "ja"), IncidentFile(id, "en"))
	}
	for _, name := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, b)
		st, _ := os.Stat(filepath.Join(dir, name))
		if got := st.Mode().Perm(); got != 0o644 {
			t.Errorf("%s: mode %v, want 0644 (the pages are public)", name, got)
		}
	}
	// Nothing changed: a second call writes nothing.
	res, err = p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 0 {
		t.Errorf("second publish rewrote %v", res.Written)
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPageContent(t *testing.T) {
	src := &notices{ns: sampleNotices()}
	p, dir := newPublisher(t, src, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want []string
		not  []string
	}{
		{"incident-1.html", []string{`<html lang="ja">`, `name="viewport"`, "<style>", "au / UQ mobile / povo の通信障害による多要素認証", "障害発生中",
			"発生日時", "2022年7月2日 1時35分", "「問題がありますか? 別の方法でサインインする」", "「別の確認オプションを使用する」", "Wi-Fi やモバイルデータ通信",
			`<h2 id="another-way">`, `<h2 id="support">`, `<h2 id="after-reset">`, "このページは状況に応じて更新します。", "最終更新: <time datetime=\"2022-07-02T07:50:00&#43;09:00\">2022年7月2日 7時50分</time>",
			`href="https://forms.example.ac.jp/mfa?carrier=au&#43;%2F&#43;UQ&#43;mobile&#43;%2F&#43;povo&amp;incident=1&amp;upn=&amp;phone="`,
			`href="https://www.au.com/information/topic/mobile/2022-001/"`, `href="incident-1.en.html"`},
			[]string{"対象地域", "復旧しました", "{upn}"}},
		{"incident-1.en.html", []string{`<html lang="en">`, "au / UQ mobile / povo outage: multi-factor sign-in affected", "Ongoing", "Started",
			`"Sign in another way"`, "「問題がありますか? 別の方法でサインインする」", "works over Wi-Fi or mobile data", "This page is updated as the situation changes.",
			"Last updated: <time", "2 July 2022, 07:50 JST", "five facts"}, nil},
		{"incident-2.html", []string{"一部回復", "対象地域</th><td>東海地方、北陸地方", "検知日時", "まだ完全には復旧していません"}, []string{"発生日時"}},
		{"incident-2.en.html", []string{"Partly recovered", "Area</th><td>東海地方, 北陸地方", "Detected at"}, nil},
		{"incident-3.html", []string{"status-recovered", "復旧しました", "今のうちに認証アプリかパスキーを登録してください", "復旧日時", `<h2 id="after-reset">`}, []string{"障害発生中"}},
		{"incident-3.en.html", []string{"Recovered", "register an authenticator app or a passkey now", "Last updated"}, nil},
		{"index.html", []string{"現在の障害", `href="incident-1.html"`, `href="incident-2.html"`, "最近の障害", `href="incident-3.html"`, `<h2 id="support">`, "最終更新"}, nil},
		{"index.en.html", []string{"Current outages", `href="incident-1.en.html"`, "Recent outages", `href="incident-3.en.html"`}, nil},
	}
	for _, tt := range tests {
		got := read(t, dir, tt.file)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q", tt.file, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("%s has %q", tt.file, w)
			}
		}
		for _, ext := range []string{`src="http`, `href="//`, `<script`, `rel="stylesheet"`} {
			if strings.Contains(got, ext) {
				t.Errorf("%s loads an external asset or script: %q", tt.file, ext)
			}
		}
	}
}

// feed is the part of an Atom feed the tests read.
type feed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Rel      string `xml:"rel,attr"`
			HrefLang string `xml:"hreflang,attr"`
			Href     string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

// CheckAtom parses an Atom feed and checks what RFC 4287 requires of it and
// its entries: id, title, updated (RFC 3339), author, an alternate link.
func checkAtom(t *testing.T, b []byte) feed {
	t.Helper()
	var f feed
	if err := xml.Unmarshal(b, &f); err != nil {
		t.Fatalf("notices.atom is not an Atom feed: %v\n%s", err, b)
	}
	if f.ID == "" || f.Title == "" || f.Author.Name == "" {
		t.Errorf("feed lacks id, title or author: %+v", f)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Errorf("feed updated %q: %v", f.Updated, err)
	}
	ids := map[string]bool{}
	for _, e := range f.Entries {
		if e.ID == "" || e.Title == "" || e.Author.Name == "" || ids[e.ID] {
			t.Errorf("entry lacks id, title or author, or repeats an id: %+v", e)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry updated %q: %v", e.Updated, err)
		}
		alt := false
		for _, l := range e.Links {
			alt = alt || (l.Rel == "alternate" && l.Href != "")
		}
		if !alt {
			t.Errorf("entry %s has no alternate link", e.ID)
		}
	}
	return f
}

func TestAtom(t *testing.T) {
	src := &notices{ns: sampleNotices()}
	p, dir := newPublisher(t, src, "https://www.example.ac.jp/mfa-notice")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := checkAtom(t, []byte(read(t, dir, AtomFile)))
	if got, want := len(f.Entries), 3; got != want {
		t.Fatalf("%d entries, want %d", got, want)
	}
	e := f.Entries[len(f.Entries)-1]
	if got, want := e.ID, "https://www.example.ac.jp/mfa-notice/incident-3.html"; got != want {
		t.Errorf("entry id %q, want %q", got, want)
	}
	if !strings.HasPrefix(e.Title, "【復旧】") {
		t.Errorf("recovered entry title %q", e.Title)
	}
	if got, want := e.Updated, "2022-07-05T06:50:00Z"; got != want {
		t.Errorf("entry updated %q, want %q", got, want)
	}
	if f.Author.Name != "IT Help" {
		t.Errorf("author %q", f.Author.Name)
	}
	if !strings.Contains(read(t, dir, AtomFile), `xml:lang="ja"`) {
		t.Errorf("feed has no xml:lang")
	}
}

func TestHeldIncidentIsNotPublished(t *testing.T) {
	ns := sampleNotices()
	ns[0].Held = true
	src := &notices{ns: ns}
	p, dir := newPublisher(t, src, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"incident-1.html", "incident-1.en.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists for an incident awaiting approval", name)
		}
	}
	for _, name := range []string{"index.html", "index.en.html", AtomFile} {
		if b := read(t, dir, name); strings.Contains(b, "incident-1.") {
			t.Errorf("%s mentions the held incident", name)
		}
	}
	// Approved: published; held again (or deleted): its pages go.
	ns[0].Held = false
	src.set(ns)
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(t, dir, "index.html"), "incident-1.html") {
		t.Fatal("approved incident not on the index")
	}
	src.set(ns[1:])
	os.WriteFile(filepath.Join(dir, "incident-notes.txt"), []byte("the web team's file"), 0o644)
	res, err := p.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Removed, " "); got != "incident-1.en.html incident-1.html" {
		t.Errorf("removed %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "incident-notes.txt")); err != nil {
		t.Errorf("a file carrierwatch did not write was removed: %v", err)
	}
}

// TestReaderNeverSeesPartialFile reads the files while they are rewritten
// over and over: every read is a complete page, and no temporary file is
// left when the writer stops.
func TestReaderNeverSeesPartialFile(t *testing.T) {
	ns := sampleNotices()
	src := &notices{ns: ns}
	p, dir := newPublisher(t, src, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, name := range []string{"index.html", "incident-1.html", "incident-1.en.html", AtomFile} {
					b, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil {
						t.Errorf("read %s while publishing: %v", name, err)
						return
					}
					end := "</html>\n"
					if name == AtomFile {
						end = "</feed>\n"
					}
					if !bytes.HasSuffix(b, []byte(end)) {
						t.Errorf("%s read half-written (%d bytes)", name, len(b))
						return
					}
					reads.Add(1)
				}
			}
		}()
	}
	for i := range 200 {
		inc := *ns[0].Incident
		inc.UpdatedAt = inc.UpdatedAt.Add(time.Duration(i) * time.Minute)
		inc.Title = strings.Repeat("長い題名", i%50)
		n := ns[0]
		n.Incident = &inc
		src.set(append([]Notice{n}, ns[1:]...))
		if _, err := p.Publish(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("the readers read nothing")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes into a read-only folder; use a folder in the way instead.
		t.Log("running as root: checking with a folder named like the file")
	}
	src := &notices{ns: sampleNotices()}
	p, dir := newPublisher(t, src, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A folder where a page should go: renaming over it fails.
	os.Remove(filepath.Join(dir, "incident-2.html"))
	if err := os.Mkdir(filepath.Join(dir, "incident-2.html"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "incident-2.html", "x"), []byte("x"), 0o644)
	if _, err := p.Publish(context.Background()); err == nil {
		t.Fatal("publish over a folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left after a failed write: %s", e.Name())
		}
	}
	os.RemoveAll(filepath.Join(dir, "incident-2.html"))
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatalf("the next publish does not recover: %v", err)
	}
}

func TestOverrideTemplates(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "en.partials.html"), []byte(strings.Replace(mustEmbedded(t, "en.partials.html"), "Sign in another way</h2>", "Try another method</h2>", 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a template"), 0o644)
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &Publisher{tmpl: tm}
	b, err := tm.renderIncident("en", p.incidentPage("en", sampleNotices()[0]))
	if err != nil || !strings.Contains(string(b), "1. Try another method</h2>") {
		t.Fatalf("override not used: %v\n%s", err, b)
	}
	// A misspelt name and a broken template are errors naming the file.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "ja.incidnet.html"), []byte("x"), 0o644)
	if _, err := LoadTemplates(bad); err == nil || !strings.Contains(err.Error(), "ja.incidnet.html") {
		t.Errorf("misspelt override: %v", err)
	}
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "ja.incident.html"), []byte(`{{template "head" .}}{{.Nope}}`), 0o644)
	if _, err := LoadTemplates(broken); err == nil || !strings.Contains(err.Error(), filepath.Join(broken, "ja.incident.html")) {
		t.Errorf("broken override: %v", err)
	}
}

func mustEmbedded(t *testing.T, name string) string {
	b, err := embedded.ReadFile("pages/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUntrustedNoticeTextIsEscaped(t *testing.T) {
	ns := sampleNotices()[:1]
	ns[0].Incident.Title = `<script>alert(1)</script>"&`
	ns[0].Incident.URL = "javascript:alert(1)"
	p, dir := newPublisher(t, &notices{ns: ns}, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"incident-1.html", "incident-1.en.html", AtomFile} {
		b := read(t, dir, name)
		if strings.Contains(b, "<script>") || strings.Contains(b, "javascript:") {
			t.Errorf("%s carries the notice's markup or link unescaped", name)
		}
	}
	checkAtom(t, []byte(read(t, dir, AtomFile)))
}

func TestHandler(t *testing.T) {
	p, dir := newPublisher(t, &notices{ns: sampleNotices()}, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".publish-x"), []byte("tmp"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("x"), 0o644)
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		code         int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/index.html", 200, "text/html; charset=utf-8"},
		{"GET", "/incident-1.en.html", 200, "text/html; charset=utf-8"},
		{"GET", "/notices.atom", 200, "application/atom+xml; charset=utf-8"},
		{"HEAD", "/index.en.html", 200, ""},
		{"GET", "/.publish-x", 404, ""},
		{"GET", "/secret.txt", 404, ""},
		{"GET", "/incident-9.html", 404, ""},
		{"GET", "/../index.html", 200, ""},
		{"GET", "/sub/index.html", 404, ""},
		{"POST", "/index.html", 405, ""},
		{"PUT", "/index.html", 405, ""},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.code)
		}
		if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, resp.Header.Get("Content-Type"))
		}
	}
}

func TestSupportFormURL(t *testing.T) {
	for _, tt := range []struct{ link, carrier, want string }{
		{"https://f.example/x", "au", "https://f.example/x"},
		{"https://f.example/x?c={carrier}&i={incident}&u={upn}&p={masked_phone}", "au / UQ mobile", "https://f.example/x?c=au+%2F+UQ+mobile&i=7&u=&p="},
	} {
		if got := SupportFormURL(tt.link, tt.carrier, 7); got != tt.want {
			t.Errorf("SupportFormURL(%q) = %q, want %q", tt.link, got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		n    Notice
		want string
	}{
		{Notice{Incident: &carrierwatch.Incident{State: carrierwatch.IncidentOpen}}, StatusOngoing},
		{Notice{Incident: &carrierwatch.Incident{State: carrierwatch.IncidentOpen, PartlyRecovered: true}}, StatusPartlyRecovered},
		{Notice{Incident: &carrierwatch.Incident{State: carrierwatch.IncidentResolved, PartlyRecovered: true}}, StatusRecovered},
	} {
		if got := Status(tt.n); got != tt.want {
			t.Errorf("Status = %q, want %q", got, tt.want)
		}
	}
}

func TestFolderCreatedReadable(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	p, dir := newPublisher(t, &notices{ns: sampleNotices()}, "")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o755 {
		t.Errorf("created folder mode %v under umask 077, want 0755 (the web server reads it)", got)
	}
	if st, _ := os.Stat(filepath.Join(dir, "index.html")); st.Mode().Perm() != 0o644 {
		t.Errorf("index.html mode %v under umask 077", st.Mode().Perm())
	}
}
