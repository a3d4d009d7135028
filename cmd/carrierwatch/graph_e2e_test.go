package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// The Graph end-to-end tests run the real command line in a subprocess
// against graphtest's fake identity platform and Graph over HTTPS. The
// process trusts the fake's certificate only through SSL_CERT_FILE: no HTTP
// client is injected, so the config mapping (newProvider) and the system
// trust store path are what is tested.

// graphPrefixes is the match of the carrier in graphConfig.
var graphPrefixes = []string{"+81908", "+81802"}

// graphEnv is a fake tenant served over TLS with a config pointing at it.
type graphEnv struct {
	fake   *graphtest.Server
	tenant graphtest.Tenant
	cfg    string // config file
	pem    string // the fake's certificate, PEM
	outbox string // mail.file.dir
}

func newGraphEnv(t *testing.T, feedURL string) *graphEnv {
	t.Helper()
	return newGraphEnvFor(t, feedURL, graphtest.LoadTenant(t))
}

// newGraphEnvFor is newGraphEnv serving tenant.
func newGraphEnvFor(t *testing.T, feedURL string, tenant graphtest.Tenant) *graphEnv {
	t.Helper()
	quoted := make([]string, len(graphPrefixes))
	for i, p := range graphPrefixes {
		quoted[i] = strconv.Quote(p)
	}
	return newGraphEnvWithCarriers(t, tenant, fmt.Sprintf(`
  - id: kddi
    name: au
    match: {prefixes: [%s]}
    sources:
      - {type: feed, url: "%s/feed", max_age: 9000d} # the fixtures are of 2021
`, strings.Join(quoted, ", "), feedURL))
}

// newGraphEnvWithCarriers is newGraphEnvFor with the config's carriers
// list given as YAML (the items under carriers:).
func newGraphEnvWithCarriers(t *testing.T, tenant graphtest.Tenant, carriers string) *graphEnv {
	t.Helper()
	e := &graphEnv{tenant: tenant}
	e.fake = graphtest.New(t, tenant)
	dir := t.TempDir()
	e.pem = filepath.Join(dir, "fake-graph.pem")
	if err := os.WriteFile(e.pem, e.fake.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "graph-secret")
	if err := os.WriteFile(secret, []byte(e.fake.Secret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.outbox = filepath.Join(dir, "outbox")
	cfg := fmt.Sprintf(`state_dir: state
http: {listen: ""}
log: {format: text, level: warn}
carriers:%s
directory:
  provider: graph
  graph:
    tenant_id: %s
    client_id: %s
    client_secret_file: %s
    authority_host: %s
    graph_endpoint: %s
mail:
  transport: file
  from: "IT Help <mfa-noreply@example.ac.jp>"
  file: {dir: %s}
  rate_per_second: 0
notify:
  links: {support_form: "https://support.example.ac.jp/mfa"}
`, carriers, graphtest.TenantID, graphtest.ClientID, secret, e.fake.URL, e.fake.URL, e.outbox)
	e.cfg = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// result is how a carrierwatch process ended.
type result struct {
	stdout, stderr string
	code           int
}

// runProcess runs carrierwatch with args as a separate process to its end.
// Its environment is the test's without any certificate or carrierwatch
// variables, plus SSL_CERT_FILE=certFile when certFile is not "".
func runProcess(t *testing.T, certFile string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "SSL_CERT_FILE" || name == "SSL_CERT_DIR" || strings.HasPrefix(name, "CARRIERWATCH_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, envChildArgs+"="+strings.Join(args, "\x1f"))
	if certFile != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+certFile)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

// fixtureUser is what the tests expect of an enabled fixture user, derived
// from the Graph-shaped fixture with rules of their own.
type fixtureUser struct {
	upn, lang string
	addresses []string // reset e-mail, otherMails and mail, lowercased, sorted
	phones    []string // E.164
	wayIn     bool     // a method that works without a phone
}

// Method names of the fixture: those that are a way in without a phone
// and those that are not. A name in neither fails the test, so a fixture
// change cannot go unnoticed.
var (
	fixtureWayIn    = []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode", "passKeyDeviceBound", "fido2"}
	fixtureNotWayIn = []string{"mobilePhone", "alternateMobilePhone", "officePhone", "email"}
)

func fixtureUsers(t *testing.T, tenant graphtest.Tenant) map[string]*fixtureUser {
	t.Helper()
	users := map[string]*fixtureUser{}
	for _, g := range tenant.Users {
		if !g.AccountEnabled {
			continue
		}
		u := &fixtureUser{upn: g.UserPrincipalName}
		if g.PreferredLanguage != nil {
			u.lang, _, _ = strings.Cut(*g.PreferredLanguage, "-")
		}
		seen := map[string]bool{}
		var reset []string
		for _, e := range tenant.EmailMethods[g.ID] {
			reset = append(reset, e.EmailAddress)
		}
		for _, a := range append(append(reset, g.OtherMails...), deref(g.Mail)) {
			if a = strings.ToLower(a); a != "" && !seen[a] {
				seen[a] = true
				u.addresses = append(u.addresses, a)
			}
		}
		sort.Strings(u.addresses)
		for _, p := range tenant.PhoneMethods[g.ID] {
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, p.PhoneNumber)
			e164 := "+" + digits
			if rest, ok := strings.CutPrefix(e164, "+810"); ok { // a trunk 0 after +81
				e164 = "+81" + rest
			}
			u.phones = append(u.phones, e164)
		}
		users[g.ID] = u
	}
	for _, r := range tenant.UserRegistrationDetails {
		u := users[r.ID]
		if u == nil {
			continue
		}
		for _, m := range r.MethodsRegistered {
			switch {
			case slices.Contains(fixtureWayIn, m):
				u.wayIn = true
			case !slices.Contains(fixtureNotWayIn, m):
				t.Fatalf("fixture method %q is in neither fixtureWayIn nor fixtureNotWayIn", m)
			}
		}
	}
	return users
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// covered reports whether one of u's phones matches the carrier.
func (u *fixtureUser) covered() (covered, other bool) {
	for _, p := range u.phones {
		if slices.ContainsFunc(graphPrefixes, func(pre string) bool { return strings.HasPrefix(p, pre) }) {
			covered = true
		} else {
			other = true
		}
	}
	return covered, other
}

// segment is the user's segment for an outage of the carrier, "" when
// unaffected.
func (u *fixtureUser) segment() string {
	covered, other := u.covered()
	switch {
	case !covered:
		return ""
	case u.wayIn:
		return "app"
	case other:
		return "other-phone"
	default:
		return "phone-only"
	}
}

// dirStats is what `directory stats` printed.
type dirStats struct {
	users, withPhone, unparsable, noAddress, wayIn, phoneOnly int
	carrier                                                   []int // AFFECTED APP OTHER-PHONE PHONE-ONLY NO-ADDRESS of kddi
	failed                                                    string
}

func parseStats(t *testing.T, out string) dirStats {
	t.Helper()
	var s dirStats
	fields := map[string]*int{
		"users:": &s.users, "with a phone:": &s.withPhone, "unparsable numbers:": &s.unparsable,
		"no address to mail:": &s.noAddress, "app/passkey/other:": &s.wayIn, "phone-only:": &s.phoneOnly,
	}
	// The failure's text may span lines (the identity library's errors do):
	// it runs up to the users line.
	if _, rest, ok := strings.Cut(out, "LAST SYNC FAILED:"); ok {
		s.failed, _, _ = strings.Cut(rest, "\nusers:")
		s.failed = strings.TrimSpace(s.failed)
	}
	found := 0
	for _, line := range strings.Split(out, "\n") {
		for label, p := range fields {
			if rest, ok := strings.CutPrefix(line, label); ok {
				n, err := strconv.Atoi(strings.Fields(rest)[0])
				if err != nil {
					t.Fatalf("stats line %q: %v", line, err)
				}
				*p = n
				found++
			}
		}
		if f := strings.Fields(line); len(f) == 7 && f[0] == "kddi" {
			for _, v := range f[2:] {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("carrier row %q: %v", line, err)
				}
				s.carrier = append(s.carrier, n)
			}
		}
	}
	if found != len(fields) || s.carrier == nil {
		t.Fatalf("directory stats output lacks lines:\n%s", out)
	}
	return s
}

// wantStats derives the stats of a cache holding the fixture.
func wantStats(users map[string]*fixtureUser) dirStats {
	s := dirStats{users: len(users), carrier: make([]int, 5)}
	for _, u := range users {
		if len(u.phones) > 0 {
			s.withPhone++
		}
		if len(u.addresses) == 0 {
			s.noAddress++
		}
		switch {
		case u.wayIn:
			s.wayIn++
		case len(u.phones) > 0:
			s.phoneOnly++
		}
		seg := u.segment()
		if seg == "" {
			continue
		}
		s.carrier[0]++
		s.carrier[1+slices.Index([]string{"app", "other-phone", "phone-only"}, seg)]++
		if len(u.addresses) == 0 {
			s.carrier[4]++
		}
	}
	return s
}

func (s dirStats) String() string {
	return fmt.Sprintf("users %d, with a phone %d, unparsable %d, no address %d, way in %d, phone-only %d, kddi [affected app other-phone phone-only no-address] %v",
		s.users, s.withPhone, s.unparsable, s.noAddress, s.wayIn, s.phoneOnly, s.carrier)
}

func checkNoSecret(t *testing.T, secret string, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("the client secret is in the output:\n%s%s", r.stdout, r.stderr)
		}
	}
}

// TestGraphDirectoryEndToEnd syncs the fixture tenant from the fake Graph
// through the command line, checks the cache's stats against the fixture,
// and sends the outage mails of a feed to the affected users.
func TestGraphDirectoryEndToEnd(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	e := newGraphEnv(t, feeds.URL)
	users := fixtureUsers(t, e.tenant)

	sync := runProcess(t, e.pem, "directory", "sync", "--config", e.cfg)
	if sync.code != 0 {
		t.Fatalf("directory sync: exit %d\nstdout:\n%s\nstderr:\n%s", sync.code, sync.stdout, sync.stderr)
	}
	if want := fmt.Sprintf("directory synced: %d users", len(users)); !strings.Contains(sync.stdout, want) {
		t.Errorf("directory sync printed %q, want it to say %q", sync.stdout, want)
	}
	st := e.fake.Stats()
	if st.Tokens == 0 || st.Requests[graphtest.KindDelta] == 0 || st.Requests[graphtest.KindReport] == 0 || st.Requests[graphtest.KindBatch] == 0 {
		t.Errorf("the fake saw tokens %d, requests %v; want a token, delta, report and $batch", st.Tokens, st.Requests)
	}

	stats := runProcess(t, e.pem, "directory", "stats", "--config", e.cfg)
	if stats.code != 0 {
		t.Fatalf("directory stats: exit %d\n%s%s", stats.code, stats.stdout, stats.stderr)
	}
	got, want := parseStats(t, stats.stdout), wantStats(users)
	if got.String() != want.String() || got.failed != "" {
		t.Errorf("directory stats:\n got %v (failed %q)\nwant %v\n%s", got, got.failed, want, stats.stdout)
	}
	if want.carrier[0] == 0 || want.carrier[3] == 0 {
		t.Fatalf("the fixture has no phone-only user covered by %v: the test proves nothing", graphPrefixes)
	}

	once := runProcess(t, e.pem, "once", "--config", e.cfg)
	if once.code != 0 {
		t.Fatalf("once: exit %d\n%s%s", once.code, once.stdout, once.stderr)
	}
	var wantMails []string
	for _, u := range users {
		seg := u.segment()
		if seg == "" {
			continue
		}
		if u.lang == "" {
			t.Fatalf("affected fixture user %s has no preferred language: cannot derive the mail's", u.upn)
		}
		wantMails = append(wantMails, fmt.Sprintf("outage %s %s %s", seg, u.lang, strings.Join(u.addresses, ",")))
	}
	sort.Strings(wantMails)
	if gotMails := outboxMails(t, e.outbox); !slices.Equal(gotMails, wantMails) {
		t.Errorf("outbox:\n got %q\nwant %q", gotMails, wantMails)
	}
	checkNoSecret(t, e.fake.Secret(), sync, stats, once)
}

// outboxMails returns "kind segment lang to,to" of each .eml in dir, the
// addresses lowercased and sorted.
func outboxMails(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		list, err := m.Header.AddressList("To")
		if err != nil {
			t.Fatalf("%s: To: %v", name, err)
		}
		var to []string
		for _, a := range list {
			to = append(to, strings.ToLower(a.Address))
		}
		sort.Strings(to)
		out = append(out, fmt.Sprintf("%s %s %s %s", m.Header.Get("X-Carrierwatch-Kind"), m.Header.Get("X-Carrierwatch-Segment"),
			m.Header.Get("Content-Language"), strings.Join(to, ",")))
	}
	sort.Strings(out)
	return out
}

// TestGraphSyncWithoutTrustedCertificate: without SSL_CERT_FILE the fake's
// certificate is not trusted; the sync must fail saying so, and the cache
// keep the last good data (even though the tenant changed meanwhile).
func TestGraphSyncWithoutTrustedCertificate(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	e := newGraphEnv(t, feeds.URL)
	users := fixtureUsers(t, e.tenant)

	if r := runProcess(t, e.pem, "directory", "sync", "--config", e.cfg); r.code != 0 {
		t.Fatalf("trusted directory sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := runProcess(t, e.pem, "directory", "stats", "--config", e.cfg)
	if got, want := parseStats(t, before.stdout).String(), wantStats(users).String(); got != want {
		t.Fatalf("stats after the trusted sync:\n got %s\nwant %s", got, want)
	}

	// A change a successful sync would bring: a user with a phone leaves.
	var gone string
	for id, u := range users {
		if len(u.phones) > 0 {
			gone = id
			break
		}
	}
	e.fake.DeleteUser(gone)
	tokens := e.fake.Stats().Tokens

	sync := runProcess(t, "", "directory", "sync", "--config", e.cfg)
	if sync.code == 0 {
		t.Fatalf("untrusted directory sync succeeded:\n%s%s", sync.stdout, sync.stderr)
	}
	if !strings.Contains(sync.stderr, "certificate") {
		t.Errorf("untrusted sync's error does not mention the certificate:\n%s", sync.stderr)
	}
	if got := e.fake.Stats().Tokens; got != tokens {
		t.Errorf("tokens issued during the untrusted sync = %d, want none", got-tokens)
	}

	after := runProcess(t, "", "directory", "stats", "--config", e.cfg)
	if after.code != 0 {
		t.Fatalf("directory stats: exit %d\n%s%s", after.code, after.stdout, after.stderr)
	}
	a := parseStats(t, after.stdout)
	if !strings.Contains(a.failed, "certificate") {
		t.Errorf("stats after the failed sync show no failure about the certificate (LAST SYNC FAILED %q):\n%s", a.failed, after.stdout)
	}
	if got, want := a.String(), wantStats(users).String(); got != want {
		t.Errorf("cache changed by the failed sync:\n got %s\nwant %s", got, want)
	}
	checkNoSecret(t, e.fake.Secret(), before, sync, after)
}
