package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestGraphMailEndToEnd: with mail.transport: graph every affected user's
// mail goes through the fake Graph's sendMail, from the configured sender,
// as MIME with text and HTML and the X-Carrierwatch headers.
func TestGraphMailEndToEnd(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	e := newGraphEnv(t, feeds.URL)
	users := fixtureUsers(t, e.tenant)
	sender := e.tenant.Users[0].UserPrincipalName
	b, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "  transport: file\n", fmt.Sprintf("  transport: graph\n  graph: {sender: %q}\n", sender), 1)
	if cfg == string(b) {
		t.Fatal("config has no file transport to replace")
	}
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runProcess(t, e.pem, "check-config", "--config", e.cfg); r.code != 0 {
		t.Fatalf("check-config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	once := runProcess(t, e.pem, "once", "--config", e.cfg)
	if once.code != 0 {
		t.Fatalf("once: exit %d\n%s%s", once.code, once.stdout, once.stderr)
	}
	var want []string
	for _, u := range users {
		if seg := u.segment(); seg != "" {
			want = append(want, fmt.Sprintf("outage %s %s %s", seg, u.lang, strings.Join(u.addresses, ",")))
		}
	}
	sort.Strings(want)
	var got []string
	for _, m := range e.fake.SentMails() {
		if !strings.EqualFold(m.Sender, sender) {
			t.Errorf("sent as %q, want %q", m.Sender, sender)
		}
		if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
			t.Errorf("Content-Type %q, want multipart/alternative", ct)
		}
		to := slices.Clone(m.To)
		for i := range to {
			to[i] = strings.ToLower(to[i])
		}
		sort.Strings(to)
		got = append(got, fmt.Sprintf("%s %s %s %s", m.Header.Get("X-Carrierwatch-Kind"), m.Header.Get("X-Carrierwatch-Segment"),
			m.Header.Get("Content-Language"), strings.Join(to, ",")))
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("sendMail got\n %q\nwant\n %q", got, want)
	}
	if st := e.fake.MailStats(); st.MaxInFlight > 4 {
		t.Errorf("%d sendMail requests in flight at once, want at most 4", st.MaxInFlight)
	}
	checkNoSecret(t, e.fake.Secret(), once)
}
