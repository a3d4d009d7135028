package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/graphtest"
	"github.com/carrierwatch/carrierwatch/internal/statuspagetest"
)

// TestStatuspageProviderEndToEnd: the tenant's SMS/voice telephony
// provider is a carrier matching every phone (match.all_phones) watched
// through its Statuspage. Through the command line: while the page is
// operational nothing is mailed; when its SMS component goes to major
// outage, every user with a phone is mailed by segment (app or phone-only:
// with every phone covered nobody is other-phone); when the incident is
// resolved, everyone mailed gets the follow-up.
func TestStatuspageProviderEndToEnd(t *testing.T) {
	sp := statuspagetest.New(t)
	tenant := graphtest.LoadTenant(t)
	e := newGraphEnvWithCarriers(t, tenant, fmt.Sprintf(`
  - id: sms-provider
    name: SMS provider
    match: {all_phones: true}
    sources:
      - {type: statuspage, url: %q, components: [SMS, Voice]}
`, sp.URL))
	users := fixtureUsers(t, tenant)

	once := func(state string) {
		t.Helper()
		sp.Set(t, state)
		r := runProcess(t, e.pem, "once", "--config", e.cfg)
		if r.code != 0 {
			t.Fatalf("once (%s): exit %d\n%s%s", state, r.code, r.stdout, r.stderr)
		}
		checkNoSecret(t, e.fake.Secret(), r)
	}

	once(statuspagetest.Operational)
	if got := outboxMails(t, e.outbox); len(got) != 0 {
		t.Fatalf("mails while the page is operational: %q", got)
	}

	once(statuspagetest.Outage)
	var outage, resolved []string
	segments := map[string]int{}
	for _, u := range users {
		if len(u.phones) == 0 {
			continue
		}
		seg := "phone-only"
		if u.wayIn {
			seg = "app"
		}
		segments[seg]++
		lang := u.lang
		if lang != "en" {
			lang = "ja" // notify.default_language; templates are ja and en
		}
		outage = append(outage, fmt.Sprintf("outage %s %s %s", seg, lang, strings.Join(u.addresses, ",")))
		resolved = append(resolved, fmt.Sprintf("resolved %s %s %s", seg, lang, strings.Join(u.addresses, ",")))
	}
	if segments["app"] == 0 || segments["phone-only"] == 0 {
		t.Fatalf("fixture segments %v: the test needs app and phone-only users", segments)
	}
	sort.Strings(outage)
	got := outboxMails(t, e.outbox)
	if !slices.Equal(got, outage) {
		t.Fatalf("outage mails:\n got %q\nwant %q", got, outage)
	}
	checkProviderWording(t, e.outbox)

	// Monitoring keeps the incident open and mails nobody new.
	once(statuspagetest.Monitoring)
	if got := outboxMails(t, e.outbox); !slices.Equal(got, outage) {
		t.Errorf("mails after monitoring:\n got %q\nwant only the outage mails", got)
	}

	once(statuspagetest.Resolved)
	want := append(slices.Clone(outage), resolved...)
	sort.Strings(want)
	if got := outboxMails(t, e.outbox); !slices.Equal(got, want) {
		t.Errorf("mails after resolution:\n got %q\nwant %q", got, want)
	}
	checkProviderWording(t, e.outbox)
	if n := sp.Requests()[statuspagetest.ComponentsPath]; n < 4 {
		t.Errorf("components.json read %d times, want at least once a run", n)
	}
}

// TestRulesTestStatuspage: `rules test URL` of a configured statuspage
// reads its API documents and prints the page's verdict; a watched
// component the page lacks is an error naming the page's components.
func TestRulesTestStatuspage(t *testing.T) {
	sp := statuspagetest.New(t)
	sp.Set(t, statuspagetest.Outage)
	cfg := func(components string) string {
		e := newGraphEnvWithCarriers(t, graphtest.LoadTenant(t), fmt.Sprintf(`
  - id: sms-provider
    match: {all_phones: true}
    sources:
      - {type: statuspage, url: %q, components: [%s]}
`, sp.URL, components))
		return e.cfg
	}
	out, err := runCmd(t, "rules", "test", sp.URL, "--config", cfg("SMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SMS delivery failures to Japanese mobile networks", "sms-provider", "outage", "statuspage: component SMS major_outage", "national"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCmd(t, "rules", "test", sp.URL, "--config", cfg("SMS, Voise"))
	if err == nil || !strings.Contains(out, `components "Voise" not on the page (it has: SMS, Voice, REST API, Customer Portal)`) {
		t.Errorf("a component the page lacks: err %v, output:\n%s", err, out)
	}
}

// checkProviderWording: every mail in the outbox of an all_phones carrier
// says codes and calls may not arrive whatever the user's mobile carrier
// (outage) or that the sending service recovered (resolved), in the
// mail's language, and never "if your phone is on …".
func checkProviderWording(t *testing.T, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no mails in %s (%v)", dir, err)
	}
	want := map[string]string{
		"outage ja":   "お使いの携帯電話会社にかかわらず、サインイン時の SMS 認証コードや音声通話が届かず",
		"outage en":   "Whatever your mobile carrier, the SMS verification codes and voice calls for signing in may not reach you",
		"resolved ja": "サインイン時の SMS 認証コードや音声通話を送信するサービス (SMS provider) の障害は復旧しました。",
		"resolved en": "The outage of SMS provider, the service that delivers the text messages and calls for sign-in verification, is over.",
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := m.Header.Get("X-Carrierwatch-Kind") + " " + m.Header.Get("Content-Language")
		body := mailBodies(t, data)
		if w, ok := want[key]; !ok || strings.Count(body, w) != 2 { // text and HTML part
			t.Errorf("%s (%s): want %q in the text and HTML parts:\n%s", filepath.Base(name), key, w, body)
		}
		for _, bad := range []string{"phone is on", "の回線", "通信障害"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s (%s) says %q", filepath.Base(name), key, bad)
			}
		}
	}
}
