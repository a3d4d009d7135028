package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/console"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// fixture is a console on a real service and database: users on au
// (+81908…) and docomo (+81909…) numbers, a real SMTP transport to an
// in-process server, and the console behind a real HTTP server.
type fixture struct {
	svc  *service.Service
	db   *store.DB
	smtp *smtptest.Server
	srv  *httptest.Server
	cfg  *config.Config
}

type fixtureOptions struct {
	users           int
	requireApproval bool
	send            bool // run the sender
	rate            float64
	limits          string // more mail.* keys, "rate_per_minute: 30"
	auth            console.AuthConfig
	log             io.Writer
}

// fixtureUser returns the i-th sample user and their phones and methods:
// every third has an authenticator app, every fifth a second phone, every
// seventh an alternate address.
func fixtureUser(i int) (carrierwatch.User, directory.Auth) {
	id := fmt.Sprintf("u%05d", i)
	family := []string{"青木", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"}[i%7]
	given := []string{"花子", "太郎", "美咲", "健", "陽菜", "翔"}[i%6]
	u := carrierwatch.User{ID: id, UPN: fmt.Sprintf("user%05d@example.ac.jp", i), DisplayName: family + " " + given,
		Mail: fmt.Sprintf("user%05d@example.ac.jp", i), PreferredLanguage: []string{"ja-JP", "en-US"}[min(i%4, 1)]}
	if i%7 == 0 {
		u.AlternateEmails = []string{fmt.Sprintf("private%05d@mail.example.net", i)}
	}
	prefix := "+81908"
	if i%2 == 1 {
		prefix = "+81909"
	}
	a := directory.Auth{UserID: id, Methods: []string{"mobilePhone"},
		Phones: []carrierwatch.Phone{{Type: carrierwatch.PhoneMobile, Raw: fmt.Sprintf("+81 %s%07d", prefix[3:], i), E164: fmt.Sprintf("%s%07d", prefix, i)}}}
	if i%3 == 0 {
		a.Methods = append(a.Methods, "microsoftAuthenticatorPush")
	}
	if i%5 == 0 {
		a.Phones = append(a.Phones, carrierwatch.Phone{Type: carrierwatch.PhoneAlternateMobile, Raw: fmt.Sprintf("+81 70%08d", i), E164: fmt.Sprintf("+8170%08d", i)})
		a.Methods = append(a.Methods, "alternateMobilePhone")
	}
	return u, a
}

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	if o.users == 0 {
		o.users = 30
	}
	if o.rate == 0 {
		o.rate = 20
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
state_dir: /unused
carriers:
  - id: kddi
    name: au / UQ mobile / povo
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "https://www.au.com/information/rss"}]
  - id: docomo
    name: NTT docomo
    match: {prefixes: ["+81909"]}
    sources: [{type: feed, url: "https://www.docomo.ne.jp/info/rss/network.rdf"}]
mail: {from: "IT Help <mfa-noreply@example.ac.jp>", concurrency: 2, rate_per_second: %v%s}
notify:
  require_approval: %v
  links: {support_form: "https://help.example.ac.jp/mfa", mfa_setup: "https://help.example.ac.jp/mfa/setup"}
`, o.rate, limitsYAML(o.limits), o.requireApproval)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "carrierwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range o.users {
		user, auth := fixtureUser(i)
		u.Users = append(u.Users, user)
		u.Auth = append(u.Auth, auth)
	}
	if _, err := db.ApplyDirectory(ctx, u, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSync(ctx, store.SyncRecord{OK: true, Full: true, Users: o.users, StartedAt: time.Now().Add(-time.Minute), FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	if o.log == nil {
		o.log = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(o.log, nil))
	f := &fixture{db: db, cfg: cfg}
	deps := service.Deps{Store: db, Templates: tmpl, Logger: logger, Fetcher: detector.NewFetcher(detector.Options{Logger: logger})}
	f.smtp = smtptest.Start(t, smtptest.Options{})
	host, port, _ := strings.Cut(f.smtp.Addr, ":")
	p, _ := strconv.Atoi(port)
	tr, err := email.NewSMTP(email.SMTPConfig{Host: host, Port: p, TLS: "none", Timeout: 5 * time.Second}, cfg.Mail.From, 2, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	deps.Transport = tr
	if f.svc, err = service.New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RecordExposure(ctx); err != nil {
		t.Fatal(err)
	}
	if o.send {
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); f.svc.RunSender(sctx) }()
		t.Cleanup(func() { stop(); <-done })
	}
	con, err := console.New(console.Options{Service: f.svc, Auth: o.auth, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(con)
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser-like client: cookies, no redirects followed
// automatically unless follow is set.
func (f *fixture) client(follow bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// get fetches path and returns the response and its body.
func (f *fixture) get(t testing.TB, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// openIncident opens an au incident through the service and returns it
// with its campaign.
func (f *fixture) openIncident(t testing.TB) (*carrierwatch.Incident, int64) {
	t.Helper()
	o, err := f.svc.OpenIncident(context.Background(), "kddi", "au down since 01:35", "cli:test")
	if err != nil {
		t.Fatal(err)
	}
	return o.Incident, o.Plan.CampaignID
}

type netipPrefix = netip.Prefix

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func storePage(camp int64) store.MessagePage { return store.MessagePage{CampaignID: camp, Limit: 5} }

func limitsYAML(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}
