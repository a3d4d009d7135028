package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/internal/fixtures"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// server serves the testdata file named in file at /src.
type server struct {
	*httptest.Server
	file atomic.Value
	body atomic.Value // overrides file when set
}

func newServer(t *testing.T, file string) *server {
	s := &server{}
	s.file.Store(file)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := s.body.Load().([]byte); ok && b != nil {
			w.Write(b)
			return
		}
		b, err := fixtures.Read(s.file.Load().(string))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

type recorder struct {
	mu    sync.Mutex
	mails []*carrierwatch.Mail
}

func (r *recorder) Send(_ context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mails = append(r.mails, m)
	return carrierwatch.Everyone(m.To, carrierwatch.Accepted, "250 ok"), nil
}

func (r *recorder) count(kind carrierwatch.Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.mails {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// engine builds an engine on a real database with three users on the
// affected range, and a recording transport.
func engine(t *testing.T, carrierYAML string) (*pipeline.Engine, *recorder) {
	rec := &recorder{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := engineWith(t, carrierYAML, func(db *store.DB, render notifier.RenderFunc) pipeline.Sender {
		return notifier.NewDispatcher(db, rec, render, notifier.DispatcherConfig{Workers: 2}, logger, nil)
	})
	return e, rec
}

// engineWith is engine with the sender newSender builds.
func engineWith(t *testing.T, carrierYAML string, newSender func(*store.DB, notifier.RenderFunc) pipeline.Sender) *pipeline.Engine {
	t.Helper()
	cfg, err := config.Parse([]byte(`
state_dir: /unused
carriers:
` + carrierYAML + `
mail: {from: "IT <it@example.ac.jp>"}
`))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "cw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range 3 {
		id := fmt.Sprint(i)
		u.Users = append(u.Users, carrierwatch.User{ID: id, UPN: id + "@example.ac.jp", Mail: id + "@example.ac.jp"})
		u.Auth = append(u.Auth, directory.Auth{UserID: id, Methods: []string{"mobilePhone"},
			Phones: []carrierwatch.Phone{{Type: "mobile", Raw: "x", E164: fmt.Sprintf("+8190800000%02d", i)}}})
	}
	if _, err := db.ApplyDirectory(context.Background(), u, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tmpl, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	rd := pipeline.NewRenderer(db, tmpl, cfg)
	e := pipeline.NewEngine(cfg, pipeline.Deps{Store: db, Logger: logger, Methods: &notifier.MethodLog{},
		Fetcher: detector.NewFetcher(detector.Options{Logger: logger}), Sender: newSender(db, rd.Render)})
	// A synced directory, so Once does not look for a provider.
	db.RecordSync(context.Background(), store.SyncRecord{OK: true, FinishedAt: timeNowFar()})
	return e
}

func TestIndexPageOldRecoveryBesideNewOutage(t *testing.T) {
	srv := newServer(t, "index.html")
	e, rec := engine(t, fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: page, url: "%s/src", items: "ul.news li", max_age: 9000d}]`, srv.URL)) // the fixture's items are dated 2022
	res, err := e.Once(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Poll.Opened) != 1 || len(res.Poll.Resolved) != 0 {
		t.Fatalf("opened %d, resolved %d; want the new outage open and the old 【復旧】 item resolving nothing", len(res.Poll.Opened), len(res.Poll.Resolved))
	}
	if got := rec.count(carrierwatch.KindOutage); got != 3 {
		t.Fatalf("outage mails = %d, want 3", got)
	}
}

func TestOpenedAndResolvedInOnePollMailsNobody(t *testing.T) {
	srv := newServer(t, "softbank-style.rss")
	e, rec := engine(t, fmt.Sprintf(`  - id: sb
    name: SoftBank
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "%s/src", max_age: 9000d}]`, srv.URL)) // the fixture's items are of 2018
	res, err := e.Once(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Poll.Opened) != 1 || len(res.Poll.Resolved) != 1 {
		t.Fatalf("opened %d resolved %d, want 1 and 1 (発生中, then 【復旧】)", len(res.Poll.Opened), len(res.Poll.Resolved))
	}
	if n := len(rec.mails); n != 0 {
		t.Fatalf("%d mails for an outage that was over before anyone was told", n)
	}
}

func TestConfirmPollsAndGUIDChurn(t *testing.T) {
	srv := newServer(t, "")
	// Dated: a source's first read acts only on dated notices within max_age.
	published := time.Now().Add(-time.Hour).Format(time.RFC1123Z)
	feed := func(guid int) []byte {
		return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<item><title>通信障害が発生しています</title><guid>g-%d</guid><pubDate>%s</pubDate><description>音声通話がご利用しづらい状況です</description></item>
</channel></rss>`, guid, published)
	}
	srv.body.Store(feed(1))
	e, rec := engine(t, fmt.Sprintf(`  - id: sb
    name: SoftBank
    match: {prefixes: ["+81908"]}
    confirm_polls: 3
    sources: [{type: feed, url: "%s/src"}]`, srv.URL))
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		srv.body.Store(feed(i)) // a new GUID every fetch, same notice
		res, err := e.Once(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if opened := len(res.Poll.Opened) > 0; opened != (i == 3) {
			t.Fatalf("poll %d: opened = %v, want an incident only on the 3rd poll", i, opened)
		}
		if i > 1 && res.Poll.New != 0 {
			t.Fatalf("poll %d: %d new notices; a changed GUID is not a new signal", i, res.Poll.New)
		}
	}
	if got := rec.count(carrierwatch.KindOutage); got != 3 {
		t.Fatalf("outage mails = %d, want 3", got)
	}
	incs, _ := e.Store.Incidents(ctx, true)
	if len(incs) != 1 {
		t.Fatalf("%d open incidents, want 1", len(incs))
	}
}

func TestVanishedNoticeResetsConfirmation(t *testing.T) {
	srv := newServer(t, "")
	outage := []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>通信障害</title><guid>a</guid></item></channel></rss>`)
	empty := []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>`)
	e, _ := engine(t, fmt.Sprintf(`  - id: sb
    name: SoftBank
    match: {prefixes: ["+81908"]}
    confirm_polls: 2
    sources: [{type: feed, url: "%s/src"}]`, srv.URL))
	ctx := context.Background()
	for i, body := range [][]byte{outage, empty, empty} {
		srv.body.Store(body)
		res, err := e.Once(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Poll.Opened) > 0 {
			t.Fatalf("poll %d opened an incident for a notice that was withdrawn", i+1)
		}
	}
}

func timeNowFar() time.Time { return time.Now().Add(24 * time.Hour) }

// TestSourceEditsDoNotReplayHistory: reordering sources, or changing how a
// page is read, must not make old notices look new and mail everyone.
func TestSourceEditsDoNotReplayHistory(t *testing.T) {
	srv := newServer(t, "kddi-notice-1-outage.html")
	carrier := func(sources string) string {
		return `  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources:
` + sources
	}
	page := fmt.Sprintf(`      - {type: page, url: "%s/src", selector: "main"}
`, srv.URL)
	e, rec := engine(t, carrier(page))
	ctx := context.Background()
	res, err := e.Once(ctx, 0)
	if err != nil || len(res.Poll.Opened) != 1 {
		t.Fatalf("first poll: %+v %v", res.Poll, err)
	}
	incs, _ := e.Store.Incidents(ctx, true)
	if _, err := e.Store.ResolveIncident(ctx, incs[0].ID, "test"); err != nil {
		t.Fatal(err)
	}
	// From here on only outage mails count: the manual resolve above
	// rightly sends follow-ups.
	mails := rec.count(carrierwatch.KindOutage)

	reconfigure := func(yaml string) {
		t.Helper()
		cfg, err := config.Parse([]byte("state_dir: /unused\ncarriers:\n" + yaml + "\nmail: {from: \"IT <it@example.ac.jp>\"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		e.SetConfig(cfg)
	}
	// Another source inserted before it: the page keeps its identity.
	other := newServer(t, "softbank-style.rss")
	reconfigure(carrier(fmt.Sprintf("      - {type: feed, url: \"%s/other\"}\n", other.URL) + page))
	res, err = e.Once(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The inserted feed is a new source of a carrier already watched: what
	// it lists now is recorded, not acted on; the page's old notice is no
	// signal either.
	if got := rec.count(carrierwatch.KindOutage); len(res.Poll.Opened) != 0 || len(res.Poll.Resolved) != 0 || got != mails {
		t.Fatalf("after inserting a source: opened %d, resolved %d, %d new outage mails", len(res.Poll.Opened), len(res.Poll.Resolved), got-mails)
	}
	// The page read another way: its text (so its hash) changes, but
	// nothing new was published.
	reconfigure(carrier(strings.Replace(page, `selector: "main"`, `selector: "body"`, 1)))
	res, err = e.Once(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.count(carrierwatch.KindOutage); len(res.Poll.Opened) != 0 || got != mails {
		t.Fatalf("after changing the selector: opened %d, %d new outage mails", len(res.Poll.Opened), got-mails)
	}
	// The page moved to another URL (a new id): recorded, not acted on.
	reconfigure(carrier(strings.Replace(page, `/src", selector: "main"`, `/src/index.html", selector: "main"`, 1)))
	if res, err = e.Once(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(carrierwatch.KindOutage); len(res.Poll.Opened) != 0 || got != mails {
		t.Fatalf("after moving the page: opened %d, %d new outage mails", len(res.Poll.Opened), got-mails)
	}
}

// TestRebaselineWithConfirmPolls: notices recorded after a source edit
// must not wait for confirmation either, or a later poll opens them.
func TestRebaselineWithConfirmPolls(t *testing.T) {
	srv := newServer(t, "kddi-notice-1-outage.html")
	carrier := func(selector string) string {
		return fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    confirm_polls: 2
    sources: [{type: page, url: "%s/src", selector: %q}]`, srv.URL, selector)
	}
	e, rec := engine(t, carrier("main"))
	ctx := context.Background()
	for range 2 {
		if _, err := e.Once(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	incs, _ := e.Store.Incidents(ctx, true)
	if len(incs) != 1 {
		t.Fatalf("%d open incidents after two polls, want 1", len(incs))
	}
	e.Store.ResolveIncident(ctx, incs[0].ID, "")
	before := rec.count(carrierwatch.KindOutage)
	cfg, err := config.Parse([]byte("state_dir: /unused\ncarriers:\n" + carrier("body") + "\nmail: {from: \"IT <it@example.ac.jp>\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.SetConfig(cfg)
	for i := range 3 {
		res, err := e.Once(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Poll.Opened) != 0 {
			t.Fatalf("poll %d after the selector change opened an incident", i+1)
		}
	}
	if got := rec.count(carrierwatch.KindOutage); got != before {
		t.Fatalf("%d outage mails after the selector change", got-before)
	}
}
