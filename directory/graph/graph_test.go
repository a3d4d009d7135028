package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// Ids of the graphtest fixture tenant.
const (
	idAoki     = "6e7b768e-07e2-4810-8459-485f84f8f204"
	idIto      = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
	idUeda     = "5bde3e51-d13b-4db1-9948-fe4b109d11a7"
	idEndo     = "4782e723-f4f4-4af3-a76e-25e3bab0d896"
	idOta      = "c03e6eaa-b6ab-46d7-905b-73ec7ea1f755"
	idKato     = "d5e1e5b9-33c4-4f07-b2a1-5a4fd1b6e8c2"
	idSmith    = "a1b2c3d4-1111-4a5b-8c9d-0e1f2a3b4c5d"
	idKimura   = "b2c3d4e5-2222-4b6c-9d0e-1f2a3b4c5d6e"
	idGarcia   = "c3d4e5f6-3333-4c7d-8e1f-2a3b4c5d6e7f"
	idSato     = "sato@example.ac.jp" // addressed by UPN: %40 in URLs
	idNakamura = "f6a7b8c9-6666-4f0a-9b4c-5d6e7f8a9b0c"
	idNewHire  = "a7b8c9d0-7777-4a1b-8c5d-6e7f8a9b0c1d"
	idLate     = "0b1c2d3e-8888-4b2c-9d6e-7f8a9b0c1d2e"
)

func u(id, upn, name, lang string, alt ...string) carrierwatch.User {
	return carrierwatch.User{ID: id, UPN: upn, DisplayName: name, Mail: upn, AlternateEmails: alt, PreferredLanguage: lang}
}

func ph(t carrierwatch.PhoneType, raw, e164 string) carrierwatch.Phone {
	return carrierwatch.Phone{Type: t, Raw: raw, E164: e164}
}

const (
	mob = carrierwatch.PhoneMobile
	alt = carrierwatch.PhoneAlternateMobile
	off = carrierwatch.PhoneOffice
)

// testClient returns a client for f whose batch retries do not sleep but
// record their waits, and without the reports pacing (tested on its own).
func testClient(t *testing.T, f *fakeGraph, logger *slog.Logger) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := NewClient(fakeConfig(f), logger)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	c.reportLimit = nil
	return c, &waits
}

func TestFetchFullThenIncremental(t *testing.T) {
	f := newFakeGraph(t, loadTenant(t))
	f.SetPageSizes(4, 5) // 13 users: 4 pages; 12 rows: 3 pages
	f.SetItemStatus(idNakamura, 404)
	f.ThrottleItem(idAoki, 1)
	f.ThrottleItem(idSato, 2)
	c, waits := testClient(t, f, nil)
	// One batch at a time, so the retry rounds below are the same in every
	// run: with two, the emailMethods batch may take both of sato's 429s
	// and aoki's phone retry then waits on its own (three waits).
	c.cfg.BatchConcurrency = 1

	var stages []string
	progress := func(p directory.Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
	}
	got, err := c.Fetch(context.Background(), "", progress)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := &directory.Update{
		Full: true,
		Users: []carrierwatch.User{
			u(idAoki, "aoki@example.ac.jp", "青木 花子", "ja-JP", "hanako.aoki@mail.example.com"),
			u(idIto, "ito@example.ac.jp", "伊藤 健", "ja-JP"),
			u(idUeda, "ueda@example.ac.jp", "上田 彩", "ja-JP", "aya.ueda@mail.example.com"), // UEDA@… is the primary
			u(idEndo, "endo@example.ac.jp", "遠藤 誠", "ja"),
			u(idOta, "ota@example.ac.jp", "太田 陽", "ja-JP", "you.ota@mail.example.com"),
			u(idKato, "kato@example.ac.jp", "加藤 優", "ja-JP"),
			u(idSmith, "smith@example.ac.jp", "Alex Smith", "en-US", "alex.smith@mail.example.org"),
			u(idKimura, "kimura@example.ac.jp", "木村 蓮", ""),
			u(idGarcia, "garcia@example.ac.jp", "Maria Garcia", "es-ES", "maria.g@mail.example.net"),
			u(idSato, "sato@example.ac.jp", "佐藤 翔", "ja-JP", "sho.sato@mail.example.com"),
			// suzuki is disabled: excluded
			u(idNakamura, "nakamura@example.ac.jp", "中村 舞", "ja-JP"),
			u(idNewHire, "new.hire@example.ac.jp", "新人 太郎", "ja-JP"),
		},
		Auth: []directory.Auth{ // sorted by id; new.hire has neither methods nor phones
			{UserID: idEndo, Methods: []string{"mobilePhone"}, Phones: []carrierwatch.Phone{ph(mob, "+81 9031239999", "+819031239999")}},
			{UserID: idUeda, Methods: []string{"mobilePhone", "alternateMobilePhone"}, Phones: []carrierwatch.Phone{ph(mob, "+81 8025556666", "+818025556666"), ph(alt, "+81 9031234567", "+819031234567")}},
			{UserID: idAoki, Methods: []string{"mobilePhone"}, Phones: []carrierwatch.Phone{ph(mob, "+81 9081234567", "+819081234567")}},
			{UserID: idIto, Methods: []string{"mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode"}, Phones: []carrierwatch.Phone{ph(mob, "+81 9081112222", "+819081112222")}},
			{UserID: idSmith, Methods: []string{"mobilePhone", "passKeyDeviceBound"}, Phones: []carrierwatch.Phone{ph(mob, "+81 8029871234", "+818029871234")}},
			{UserID: idKimura, Methods: []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}},
			{UserID: idOta, Methods: []string{"mobilePhone"}, Phones: []carrierwatch.Phone{ph(mob, "+81 09081239876", "+819081239876")}},
			{UserID: idGarcia, Methods: []string{"mobilePhone"}, Phones: []carrierwatch.Phone{ph(mob, "+1 4255550123", "+14255550123")}},
			{UserID: idKato, Methods: []string{"officePhone"}, Phones: []carrierwatch.Phone{ph(off, "+81 358001234", "+81358001234")}},
			{UserID: idNakamura, Methods: []string{"mobilePhone"}},
			{UserID: idSato, Methods: []string{"mobilePhone", "email"}, Phones: []carrierwatch.Phone{ph(mob, "+81 90-8765-4321", "+819087654321")},
				ResetEmail: "sho.sato.reset@mail.example.jp"},
		},
		AuthFull:   true,
		Cursor:     f.URL + "/v1.0/users/delta?$deltatoken=1",
		Problems:   []string{"user " + idNakamura + ": phoneMethods: status 404 (Request_ResourceNotFound)"},
		Mode:       MethodsRegistrationDetails,
		ModeReason: "auto: licensed, the userRegistrationDetails report answered",
	}
	assertUpdate(t, got, want)

	if got, want := f.Count("delta"), 4; got != want {
		t.Errorf("delta requests = %d, want %d", got, want)
	}
	if got, want := f.Count("report"), 3; got != want {
		t.Errorf("report requests = %d, want %d", got, want)
	}
	// 11 users with a phone method: one batch of 11, then the retries.
	if got, want := f.Stats().ItemAttempts[idAoki], 2; got != want {
		t.Errorf("attempts for a user throttled once = %d, want %d", got, want)
	}
	// sato: phoneMethods and emailMethods, the first two items throttled.
	if got, want := f.Stats().ItemAttempts[idSato], 4; got != want {
		t.Errorf("attempts for a user throttled twice = %d, want %d", got, want)
	}
	if got, want := *waits, []time.Duration{time.Second, time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("retry waits = %v, want %v (the items' Retry-After)", got, want)
	}
	if got, want := f.Stats().BatchURLIDs[idSato], "sato%40example.ac.jp"; got != want {
		t.Errorf("batch url id = %q, want %q", got, want)
	}
	if !f.Stats().GzipSeen {
		t.Error("no $batch body came gzip-compressed")
	}
	if got, want := f.Stats().Tokens, 1; got != want {
		t.Errorf("token requests = %d, want %d", got, want)
	}
	for _, s := range []string{"users", "methods", "phones"} {
		if !strings.Contains(strings.Join(stages, ","), s) {
			t.Errorf("progress stages %v lack %q", stages, s)
		}
	}

	// Changes between the syncs.
	f.UpdateUser(idIto, func(g *graphtest.User) { g.DisplayName = "伊藤 健二" })
	f.UpdateUser(idKimura, func(g *graphtest.User) { g.AccountEnabled = false })
	f.DeleteUser(idGarcia)
	late := "late@example.ac.jp"
	lang := "en-GB"
	f.AddUser(graphtest.User{ID: idLate, UserPrincipalName: late, DisplayName: "Late Joiner", Mail: &late, OtherMails: []string{"late@mail.example.com"}, PreferredLanguage: &lang, AccountEnabled: true},
		graphtest.Registration{ID: idLate, UserPrincipalName: late, UserDisplayName: "Late Joiner", UserType: "member", IsMfaRegistered: true, IsMfaCapable: true,
			MethodsRegistered: []string{"mobilePhone", "fido2"}, SystemPreferredAuthenticationMethods: []string{"fido2"},
			UserPreferredMethodForSecondaryAuthentication: "sms", LastUpdatedDateTime: "2025-07-01T09:30:00Z"},
		[]graphtest.Phone{{ID: "3179e48a-750b-4051-897c-87b9720928f7", PhoneNumber: "+81 7012345678", PhoneType: "mobile", SMSSignInState: "notAllowedByPolicy"}})

	got2, err := c.Fetch(context.Background(), got.Cursor, nil)
	if err != nil {
		t.Fatalf("incremental Fetch: %v", err)
	}
	auth2 := []directory.Auth{{UserID: idLate, Methods: []string{"mobilePhone", "fido2"}, Phones: []carrierwatch.Phone{ph(mob, "+81 7012345678", "+817012345678")}}}
	for _, a := range want.Auth {
		if a.UserID != idGarcia && a.UserID != idKimura { // deleted; disabled
			auth2 = append(auth2, a)
		}
	}
	want2 := &directory.Update{
		Full: false,
		Users: []carrierwatch.User{
			u(idIto, "ito@example.ac.jp", "伊藤 健二", "ja-JP"),
			u(idLate, late, "Late Joiner", "en-GB", "late@mail.example.com"),
		},
		Removed:  []string{idKimura, idGarcia},
		Auth:     auth2,
		AuthFull: true,
		Cursor:   f.URL + "/v1.0/users/delta?$deltatoken=5",
		Problems: want.Problems,
	}
	assertUpdate(t, got2, want2)
	if got, want := f.Count("delta"), 5; got != want {
		t.Errorf("delta requests after the incremental sync = %d, want %d (one page)", got, want)
	}
}

func assertUpdate(t *testing.T, got, want *directory.Update) {
	t.Helper()
	if got == nil {
		t.Fatal("Update is nil")
	}
	if got.Full != want.Full || got.AuthFull != want.AuthFull || got.Cursor != want.Cursor {
		t.Errorf("Full, AuthFull, Cursor = %v, %v, %q; want %v, %v, %q", got.Full, got.AuthFull, got.Cursor, want.Full, want.AuthFull, want.Cursor)
	}
	if !reflect.DeepEqual(got.Users, want.Users) {
		t.Errorf("Users:\n got %+v\nwant %+v", got.Users, want.Users)
	}
	if !reflect.DeepEqual(got.Removed, want.Removed) {
		t.Errorf("Removed = %v, want %v", got.Removed, want.Removed)
	}
	if !reflect.DeepEqual(got.Auth, want.Auth) {
		t.Errorf("Auth:\n got %+v\nwant %+v", got.Auth, want.Auth)
	}
	if !reflect.DeepEqual(got.Problems, want.Problems) {
		t.Errorf("Problems = %q, want %q", got.Problems, want.Problems)
	}
}

func TestFetchFailsWithoutUpdate(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeGraph)
	}{
		{"500 on the second delta page", func(f *fakeGraph) { f.FailRequest("delta", 2) }},
		{"500 on the second report page", func(f *fakeGraph) { f.FailRequest("report", 2) }},
		{"500 on a $batch request", func(f *fakeGraph) { f.FailRequest("batch", 1) }},
		{"a batch item failing every attempt", func(f *fakeGraph) { f.SetItemStatus(idOta, 500) }},
		{"wrong client secret", func(f *fakeGraph) { f.SetSecret("another-secret") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, loadTenant(t))
			f.SetPageSizes(4, 5)
			c, _ := testClient(t, f, nil)
			tt.setup(f)
			got, err := c.Fetch(context.Background(), "", nil)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if got != nil {
				t.Errorf("Fetch returned an Update with its error: %+v", got)
			}
		})
	}
}

// TestFetchFailsWhenPermissionMissing: a 401 or 403 on the phones (one
// item or the whole $batch) or on the methods report means a permission or
// its consent is missing for everyone. Returning an Update without those
// phones (AuthFull) would wipe every cached phone, so Fetch must fail and
// say what to grant.
func TestFetchFailsWhenPermissionMissing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeGraph)
		grant string
	}{
		{"403 on one phoneMethods item", func(f *fakeGraph) { f.SetItemStatus(idOta, 403) }, "UserAuthMethod-Phone.Read.All or UserAuthenticationMethod.Read.All and admin consent"},
		{"401 on one phoneMethods item", func(f *fakeGraph) { f.SetItemStatus(idAoki, 401) }, "UserAuthMethod-Phone.Read.All or UserAuthenticationMethod.Read.All and admin consent"},
		{"403 on every phoneMethods and emailMethods item", func(f *fakeGraph) {
			for _, r := range loadTenant(t).UserRegistrationDetails {
				f.SetItemStatus(r.ID, 403)
			}
		}, ".Read.All or UserAuthenticationMethod.Read.All and admin consent"},
		{"403 on the one emailMethods item", func(f *fakeGraph) { f.SetReadStatus(graphtest.KindEmailMethods, idSato, 403) }, "UserAuthMethod-Email.Read.All or UserAuthenticationMethod.Read.All and admin consent"},
		{"403 on the $batch request", func(f *fakeGraph) { f.DenyRequests("batch", 403) }, "UserAuthenticationMethod.Read.All and admin consent"},
		{"403 on the methods report", func(f *fakeGraph) { f.DenyRequests("report", 403) }, "AuditLog.Read.All and admin consent"},
		{"401 on the methods report", func(f *fakeGraph) { f.DenyRequests("report", 401) }, "AuditLog.Read.All and admin consent"},
		{"403 on the users delta", func(f *fakeGraph) { f.DenyRequests("delta", 403) }, "User.Read.All and admin consent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, loadTenant(t))
			f.SetPageSizes(0, 5)
			c, _ := testClient(t, f, nil)
			tt.setup(f)
			got, err := c.Fetch(context.Background(), "", nil)
			if err == nil {
				t.Fatalf("Fetch succeeded (auth entries %d, problems %q), want an error", len(got.Auth), got.Problems)
			}
			if got != nil {
				t.Errorf("Fetch returned an Update with its error: %+v", got)
			}
			if !errors.Is(err, ErrPermission) {
				t.Errorf("err = %v, want ErrPermission", err)
			}
			if !strings.Contains(err.Error(), tt.grant) {
				t.Errorf("err = %v, want it to say %q", err, tt.grant)
			}
		})
	}
}

// TestFetchRetriesThrottledRequests checks the SDK middleware's retries of
// whole requests (429 with Retry-After), including a gzip-compressed $batch
// body sent a second time.
func TestFetchRetriesThrottledRequests(t *testing.T) {
	f := newFakeGraph(t, loadTenant(t))
	f.RefuseRequests("batch", 1)
	f.RefuseRequests("delta", 1)
	c, _ := testClient(t, f, nil)
	got, err := c.Fetch(context.Background(), "", nil)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got, want := len(got.Auth), 11; got != want {
		t.Errorf("auth entries = %d, want %d", got, want)
	}
	// One of phoneMethods, one of emailMethods, one refused and resent.
	if got, want := f.Count("batch"), 3; got != want {
		t.Errorf("batch requests = %d, want %d", got, want)
	}
}

func TestFetchStaleCursorRestartsFull(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"400 syncStateNotFound", 400},
		{"410 Gone", 410},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, loadTenant(t))
			c, _ := testClient(t, f, nil)
			first, err := c.Fetch(context.Background(), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			f.SetStaleDeltaTokens(tt.status)
			got, err := c.Fetch(context.Background(), first.Cursor, nil)
			if err != nil {
				t.Fatalf("Fetch with a stale cursor: %v", err)
			}
			if !got.Full {
				t.Error("Full = false after a stale cursor, want a full sync")
			}
			if got, want := len(got.Users), len(first.Users); got != want {
				t.Errorf("users = %d, want %d", got, want)
			}
			if got.Cursor == "" {
				t.Error("no new cursor")
			}
		})
	}
}

func TestFetchCertificateCredential(t *testing.T) {
	f := newFakeGraph(t, loadTenant(t))
	f.SetSecret("") // only a client assertion is accepted
	cfg := fakeConfig(f)
	cfg.ClientSecret = ""
	cfg.CertificatePEM = selfSignedPEM(t)
	c, err := NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reportLimit = nil
	if _, err := c.Fetch(context.Background(), "", nil); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if f.Stats().Assertions == 0 {
		t.Error("the token request carried no client assertion")
	}
}

func TestLogsHoldNoSecretsOrPersonalData(t *testing.T) {
	f := newFakeGraph(t, loadTenant(t))
	f.SetItemStatus(idSato, 404) // a problem about a UPN-shaped id
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := testClient(t, f, logger)
	up, err := c.Fetch(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fakeConfig(f)
	f.SetSecret("rotated") // the new client sends the old one
	c2, err := NewClient(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Fetch(context.Background(), "", nil)
	if err == nil {
		t.Fatal("Fetch with a wrong secret succeeded")
	}
	text := buf.String() + err.Error() + strings.Join(up.Problems, "\n")
	for _, leak := range []string{"s3cr3t~value-not-for-logs", graphtest.AccessToken, "+81", "9081234567", "sato@example", "@mail.example"} {
		if strings.Contains(text, leak) {
			t.Errorf("logs, error or problems contain %q", leak)
		}
	}
}

func TestWindowLimiter(t *testing.T) {
	l := newWindowLimiter(2, 200*time.Millisecond)
	start := time.Now()
	var at []time.Duration
	for range 5 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Since(start))
	}
	// Any two starts two apart are at least one window apart.
	for i := 2; i < len(at); i++ {
		if d := at[i] - at[i-2]; d < 200*time.Millisecond {
			t.Errorf("starts %d and %d are %v apart, want ≥ 200ms", i-2, i, d)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	pemData := selfSignedPEM(t)
	ok := Config{TenantID: "t", ClientID: "c", ClientSecret: "s"}
	tests := []struct {
		name string
		cfg  func(Config) Config
		want []string // substrings of the error; none = valid
	}{
		{"secret", func(c Config) Config { return c }, nil},
		{"certificate", func(c Config) Config { c.ClientSecret = ""; c.CertificatePEM = pemData; return c }, nil},
		{"national cloud with overrides", func(c Config) Config {
			c.Cloud, c.AuthorityHost, c.GraphEndpoint = "usgov", "https://login.example.test", "https://graph.example.test:8443/"
			return c
		}, nil},
		{"everything missing", func(Config) Config { return Config{} }, []string{
			"directory.graph.tenant_id", "directory.graph.client_id", "directory.graph.client_secret_file"}},
		{"both credentials", func(c Config) Config { c.CertificatePEM = pemData; return c }, []string{"at most one"}},
		{"bad certificate", func(c Config) Config { c.ClientSecret = ""; c.CertificatePEM = []byte("junk"); return c }, []string{"directory.graph.client_certificate_file"}},
		{"unknown cloud", func(c Config) Config { c.Cloud = "mars"; return c }, []string{"directory.graph.cloud"}},
		{"http overrides", func(c Config) Config {
			c.AuthorityHost, c.GraphEndpoint = "http://login.example.test", "graph.example.test"
			return c
		}, []string{"directory.graph.authority_host", "directory.graph.graph_endpoint"}},
		{"endpoint with a path", func(c Config) Config { c.GraphEndpoint = "https://graph.example.test/v1.0"; return c }, []string{"directory.graph.graph_endpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg(ok).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEndpointsPerCloud(t *testing.T) {
	tests := []struct {
		cloud, authority, graph string
		custom                  bool
	}{
		{"", "https://login.microsoftonline.com", "https://graph.microsoft.com", false},
		{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us", false},
		{"china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", false},
	}
	for _, tt := range tests {
		t.Run("cloud="+tt.cloud, func(t *testing.T) {
			c := Config{Cloud: tt.cloud}
			a, g := c.endpoints()
			if a != tt.authority || g != tt.graph || c.customAuthority() != tt.custom {
				t.Errorf("endpoints = %q, %q, custom %v; want %q, %q, %v", a, g, c.customAuthority(), tt.authority, tt.graph, tt.custom)
			}
		})
	}
}

func TestEndpointOverrides(t *testing.T) {
	for _, ep := range []string{"https://graph.test:8443", "https://graph.test:8443/", "https://graph.test:8443/v1.0", "https://graph.test:8443/v1.0/"} {
		c := Config{AuthorityHost: "https://login.test/", GraphEndpoint: ep}
		a, g := c.endpoints()
		if a != "https://login.test" || g != "https://graph.test:8443" || !c.customAuthority() {
			t.Errorf("GraphEndpoint %q: endpoints = %q, %q, custom %v", ep, a, g, c.customAuthority())
		}
	}
}

func selfSignedPEM(t testing.TB) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "carrierwatch test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, key)})
	return b.Bytes()
}

func mustPKCS8(t testing.TB, key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodePhones(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name         string
		value        []any
		want         []carrierwatch.Phone
		wantProblems int
	}{
		{"three types", []any{
			map[string]any{"id": str("3179e48a-750b-4051-897c-87b9720928f7"), "phoneNumber": str("+81 9012345678"), "phoneType": str("mobile")},
			map[string]any{"id": str("b6332ec1-7057-4abe-9331-3d72feddfe41"), "phoneNumber": str("+81 8011112222"), "phoneType": str("alternateMobile")},
			map[string]any{"id": str("e37fc753-ff3b-4958-9484-eae9a2a0c71e"), "phoneNumber": str("+81 358001234"), "phoneType": str("office")},
		}, []carrierwatch.Phone{ph(mob, "+81 9012345678", "+819012345678"), ph(alt, "+81 8011112222", "+818011112222"), ph(off, "+81 358001234", "+81358001234")}, 0},
		{"unknown type skipped", []any{
			map[string]any{"phoneNumber": str("+81 9012345678"), "phoneType": str("unknownFutureValue")},
			map[string]any{"phoneNumber": str("+81 9012345678"), "phoneType": str("mobile")},
		}, []carrierwatch.Phone{ph(mob, "+81 9012345678", "+819012345678")}, 1},
		{"invalid number kept without E.164", []any{
			map[string]any{"phoneNumber": str("+81 12"), "phoneType": str("mobile")},
		}, []carrierwatch.Phone{ph(mob, "+81 12", "")}, 1},
		{"no phones", []any{}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems, err := decodePhones(map[string]any{"value": tt.value}, "JP")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("phones = %+v, want %+v", got, tt.want)
			}
			if got, want := len(problems), tt.wantProblems; got != want {
				t.Errorf("problems = %q, want %d", problems, want)
			}
			for _, p := range problems {
				if strings.Contains(p, "9012345678") {
					t.Errorf("problem %q holds a whole number", p)
				}
			}
		})
	}
}
