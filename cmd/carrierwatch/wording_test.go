package main

import (
	"os"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// TestPreparednessCountsResolvedFollowUps: a user who was just sent the
// resolved follow-up ("register an app or passkey now") gets no
// preparedness mail minutes later.
func TestPreparednessCountsResolvedFollowUps(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	feeds.file.Store("docomo-network-recovered.rdf")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	followedUp := map[string]bool{}
	for _, m := range smtp.Messages() {
		if m.Header.Get("X-Carrierwatch-Kind") == "resolved" {
			followedUp[m.To[len(m.To)-1]] = true
		}
	}
	if len(followedUp) == 0 {
		t.Fatal("no resolved follow-up sent")
	}
	before := smtp.Count()
	if _, err := runCmd(t, "campaigns", "preparedness", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	var prepared []string
	for _, m := range smtp.Messages()[before:] {
		to := m.To[len(m.To)-1]
		if followedUp[to] {
			t.Errorf("%s got a preparedness mail right after the resolved follow-up", to)
		}
		prepared = append(prepared, to)
	}
	// Phone-only users never notified about the incident still get one
	// (0004 and 0006: numbers the carrier does not cover; 0009: abroad).
	if len(prepared) != 3 {
		t.Errorf("preparedness mails to %v, want the 3 phone-only users not followed up", prepared)
	}
}

// mailsTo returns the decoded bodies of the mails of kind whose last
// recipient (the primary address) is primary.
func mailsTo(t *testing.T, srv *smtptest.Server, kind, primary string) []string {
	t.Helper()
	var out []string
	for _, m := range srv.Messages() {
		if m.Header.Get("X-Carrierwatch-Kind") == kind && m.To[len(m.To)-1] == primary {
			out = append(out, mailBodies(t, m.Data))
		}
	}
	return out
}

// TestMailWording replays an outage through a feed and reads the mails
// again for what issue 12 asks of their wording.
func TestMailWording(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	s := strings.Replace(string(raw), `links: {support_form: "https://support.example.ac.jp/mfa"}`,
		`links: {support_form: "https://support.example.ac.jp/mfa?upn={upn}&phone={masked_phone}&incident={incident}", support_form_without_sign_in: true, notice: "https://www.example.ac.jp/news/outage"}`, 1)
	s = strings.Replace(s, `from: "IT Help <mfa-noreply@example.ac.jp>"`, `from: "IT Help <mfa-noreply@example.ac.jp>"
  reply_to: "IT Help Desk <helpdesk@example.ac.jp>"
  return_path: mfa-bounces@example.ac.jp`, 1)
	os.WriteFile(cfg, []byte(s), 0o600)
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	// Replies reach the help desk, bounces the bounce mailbox.
	for _, m := range smtp.Messages() {
		if m.From != "mfa-bounces@example.ac.jp" || !strings.Contains(m.Header.Get("Reply-To"), "helpdesk@example.ac.jp") {
			t.Fatalf("mail to %v: MAIL FROM %q, Reply-To %q", m.To, m.From, m.Header.Get("Reply-To"))
		}
	}

	// other-phone: 0003's other number is an alternateMobile: call only.
	ueda := mailsTo(t, smtp, "outage", "ueda@example.ac.jp")
	if len(ueda) != 1 {
		t.Fatalf("%d outage mails to ueda", len(ueda))
	}
	for _, w := range []string{"+81 90-****-4567 (音声通話のみ)", "SMS は届きません"} {
		if !strings.Contains(ueda[0], w) {
			t.Errorf("other-phone mail lacks %q:\n%s", w, ueda[0])
		}
	}
	if strings.Contains(ueda[0], "4567 (SMS または音声通話)") {
		t.Error("other-phone mail offers a text message to an alternate mobile number")
	}

	// phone-only: the filled form link, right at the top, and that it
	// works without signing in; the checklist and "after the reset".
	aoki := mailsTo(t, smtp, "outage", "aoki@example.ac.jp")
	if len(aoki) != 1 {
		t.Fatalf("%d outage mails to aoki", len(aoki))
	}
	link := "https://support.example.ac.jp/mfa?upn=aoki%40example.ac.jp&phone=%2B81+90-%2A%2A%2A%2A-4567&incident=1"
	body := aoki[0]
	if i, j := strings.Index(body, link), strings.Index(body, "対象のアカウント"); i < 0 || i > j {
		t.Errorf("phone-only text: filled form link at %d, account at %d:\n%s", i, j, body)
	}
	for _, w := range []string{"このフォームはサインインしなくても使えます", "お問い合わせフォームを開く", "電話番号だけで、ほかの方法ではサインインできない", "パスキーを登録してください", "発生日時", `<span style="white-space: nowrap;">`} {
		if !strings.Contains(body, w) {
			t.Errorf("phone-only mail lacks %q", w)
		}
	}
	for _, no := range []string{"試しても、できなかった", "あらためて設定", "{upn}", "お問い合わせください。\n担当者"} {
		if strings.Contains(body, no) {
			t.Errorf("phone-only mail still has %q", no)
		}
	}

	// Preparedness: no outage notice link in the footer.
	before := smtp.Count()
	if _, err := runCmd(t, "campaigns", "preparedness", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	msgs := smtp.Messages()[before:]
	if len(msgs) == 0 {
		t.Fatal("no preparedness mail")
	}
	for _, m := range msgs {
		if b := mailBodies(t, m.Data); strings.Contains(b, "news/outage") {
			t.Errorf("preparedness mail to %v prints the outage notice link", m.To)
		}
	}
}
