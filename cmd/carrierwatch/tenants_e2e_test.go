package main

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// Fixture ids used below.
const (
	e2eAoki = "6e7b768e-07e2-4810-8459-485f84f8f204"
	e2eOta  = "c03e6eaa-b6ab-46d7-905b-73ec7ea1f755"
)

// unlicensedTenant is the fixture with two more self-service reset
// e-mails: aoki's is new, ota's repeats an otherMails address in other case.
func unlicensedTenant(t *testing.T) graphtest.Tenant {
	t.Helper()
	tenant := graphtest.LoadTenant(t)
	tenant.EmailMethods[e2eAoki] = []graphtest.Email{{EmailAddress: "hanako.reset@mail.example.jp"}}
	tenant.EmailMethods[e2eOta] = []graphtest.Email{{EmailAddress: "You.Ota@mail.example.com"}}
	for i, r := range tenant.UserRegistrationDetails {
		if r.ID == e2eAoki || r.ID == e2eOta {
			tenant.UserRegistrationDetails[i].MethodsRegistered = append(r.MethodsRegistered, "email")
		}
	}
	return tenant
}

// TestGraphUnlicensedTenantEndToEnd: a tenant without Entra ID P1/P2, whose
// report answers Graph's 403. `directory sync` falls back to each user's
// authentication methods, `directory stats` says so and counts the reset
// e-mails, and `once` mails each affected user by segment with the reset
// e-mail first.
func TestGraphUnlicensedTenantEndToEnd(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	tenant := unlicensedTenant(t)
	e := newGraphEnvFor(t, feeds.URL, tenant)
	e.fake.SetUnlicensed(true)
	users := fixtureUsers(t, tenant)

	sync := runProcess(t, e.pem, "directory", "sync", "--config", e.cfg)
	if sync.code != 0 {
		t.Fatalf("directory sync: exit %d\nstdout:\n%s\nstderr:\n%s", sync.code, sync.stdout, sync.stderr)
	}
	st := e.fake.Stats()
	if st.Requests[graphtest.KindReport] != 1 || st.Requests[graphtest.KindDelta] < 2 || st.Requests[graphtest.KindBatch] == 0 || st.Requests[graphtest.KindPhoneMethods] != 0 {
		t.Errorf("requests %v: want one refused report, two delta rounds (profiles, user list) and $batch", st.Requests)
	}
	if !strings.Contains(sync.stderr, "reading each user's authentication methods instead") {
		t.Errorf("the fallback is not logged:\n%s", sync.stderr)
	}

	stats := runProcess(t, e.pem, "directory", "stats", "--config", e.cfg)
	if stats.code != 0 {
		t.Fatalf("directory stats: exit %d\n%s%s", stats.code, stats.stdout, stats.stderr)
	}
	for _, want := range []string{
		"methods read from:   authentication_methods (auto: the userRegistrationDetails report answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant (no Entra ID P1/P2 licence))",
		"reset e-mail (SSPR): 3 ",
	} {
		if !strings.Contains(stats.stdout, want) {
			t.Errorf("directory stats does not say %q:\n%s", want, stats.stdout)
		}
	}
	if got, want := parseStats(t, stats.stdout), wantStats(users); got.String() != want.String() {
		t.Errorf("directory stats:\n got %v\nwant %v\n%s", got, want, stats.stdout)
	}

	once := runProcess(t, e.pem, "once", "--config", e.cfg)
	if once.code != 0 {
		t.Fatalf("once: exit %d\n%s%s", once.code, once.stdout, once.stderr)
	}
	var wantMails []string
	for _, u := range users {
		if seg := u.segment(); seg != "" {
			wantMails = append(wantMails, fmt.Sprintf("outage %s %s %s", seg, u.lang, strings.Join(u.addresses, ",")))
		}
	}
	sort.Strings(wantMails)
	if got := outboxMails(t, e.outbox); !slices.Equal(got, wantMails) {
		t.Errorf("outbox:\n got %q\nwant %q", got, wantMails)
	}
	// The reset e-mail is the first recipient, and never twice.
	firsts := map[string][]string{}
	for _, to := range outboxRecipients(t, e.outbox) {
		firsts[to[len(to)-1]] = to
	}
	for primary, want := range map[string][]string{
		"aoki@example.ac.jp": {"hanako.reset@mail.example.jp", "hanako.aoki@mail.example.com", "aoki@example.ac.jp"},
		"ota@example.ac.jp":  {"you.ota@mail.example.com", "ota@example.ac.jp"},
		"sato@example.ac.jp": {"sho.sato.reset@mail.example.jp", "sho.sato@mail.example.com", "sato@example.ac.jp"},
	} {
		if got := firsts[primary]; !slices.Equal(got, want) {
			t.Errorf("recipients of %s's mail = %q, want %q (reset e-mail first)", primary, got, want)
		}
	}
	checkNoSecret(t, e.fake.Secret(), sync, stats, once)
}

// outboxRecipients returns the To addresses of each .eml in dir, in the
// order of the header, lowercased.
func outboxRecipients(t *testing.T, dir string) [][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
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
		out = append(out, to)
	}
	return out
}
