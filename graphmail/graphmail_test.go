package graphmail

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/internal/graphtest"
	"github.com/carrierwatch/carrierwatch/msidentity"
)

const sender = "mfa-noreply@example.ac.jp"

var _ TokenSource = (*msidentity.TokenSource)(nil)

func newTransport(t *testing.T) (*graphtest.Server, *Transport) {
	t.Helper()
	f := graphtest.New(t, graphtest.Tenant{Users: []graphtest.User{{ID: "00000000-0000-0000-0000-00000000aaaa", UserPrincipalName: sender, DisplayName: "MFA", AccountEnabled: true}}})
	tokens, err := msidentity.NewTokenSource(msidentity.Credentials{
		TenantID: graphtest.TenantID, ClientID: graphtest.ClientID, ClientSecret: f.Secret(),
		AuthorityHost: f.URL, HTTPClient: f.Client(),
	}, msidentity.GraphScope(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{Sender: sender, Endpoint: f.URL, Tokens: tokens, HTTPClient: f.Client()}, "IT Help <"+sender+">", nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, tr
}

func testMail(i int) *carrierwatch.Mail {
	return &carrierwatch.Mail{
		MessageID: fmt.Sprintf("cw-outage-1-%d@example.ac.jp", i),
		To:        []string{fmt.Sprintf("u%d.alt@example.net", i), fmt.Sprintf("u%d@example.ac.jp", i)},
		Subject:   "【重要】au の通信障害時のサインイン方法", Text: "山田 様\n本文\n", HTML: "<p>山田 様</p>\n",
		Lang: "ja", Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentPhoneOnly, IncidentID: 1,
		Date: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
	}
}

func TestSendMail(t *testing.T) {
	f, tr := newTransport(t)
	m := testMail(1)
	d, err := tr.Send(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count(carrierwatch.Accepted) != 2 {
		t.Fatalf("delivery = %+v, want both accepted", d)
	}
	sent := f.SentMails()
	if len(sent) != 1 {
		t.Fatalf("graph has %d mails, want 1", len(sent))
	}
	s := sent[0]
	if s.Sender != sender || strings.Join(s.To, ",") != strings.Join(m.To, ",") {
		t.Errorf("sent as %q to %v", s.Sender, s.To)
	}
	for h, want := range map[string]string{
		"X-Carrierwatch-Kind": "outage", "X-Carrierwatch-Segment": "phone-only", "X-Carrierwatch-Incident": "1",
		"Message-Id": "<" + m.MessageID + ">", "Content-Language": "ja",
	} {
		if got := s.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if ct := s.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative (text + HTML)", ct)
	}
}

func TestSendMailAtMostFourInFlight(t *testing.T) {
	f, tr := newTransport(t)
	f.SetMailLatency(50 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if d, err := tr.Send(t.Context(), testMail(i)); err != nil || d.Count(carrierwatch.Accepted) != 2 {
				t.Errorf("mail %d: %+v, %v", i, d, err)
			}
		})
	}
	wg.Wait()
	st := f.MailStats()
	if st.MaxInFlight > MaxInFlight || st.OverLimit != 0 {
		t.Errorf("max in flight %d, %d over the limit; want at most %d, none over", st.MaxInFlight, st.OverLimit, MaxInFlight)
	}
	if got := len(f.SentMails()); got != 20 {
		t.Errorf("graph has %d mails, want 20", got)
	}
}

func TestSendMailWaitsForRetryAfter(t *testing.T) {
	f, tr := newTransport(t)
	var waits []time.Duration
	tr.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	f.ThrottleSendMail(2, 7)
	d, err := tr.Send(t.Context(), testMail(1))
	if err != nil || d.Count(carrierwatch.Accepted) != 2 {
		t.Fatalf("throttled twice: %+v, %v; want accepted", d, err)
	}
	if fmt.Sprint(waits) != "[7s 7s]" {
		t.Errorf("waits = %v, want the Retry-After of each 429", waits)
	}
	f.UnavailableSendMail(1, 3)
	waits = nil
	if d, err := tr.Send(t.Context(), testMail(2)); err != nil || d.Count(carrierwatch.Accepted) != 2 {
		t.Fatalf("503 once: %+v, %v", d, err)
	}
	if fmt.Sprint(waits) != "[3s]" {
		t.Errorf("waits = %v, want [3s]", waits)
	}
	if got := len(f.SentMails()); got != 2 {
		t.Errorf("graph has %d mails, want 2 (no duplicates)", got)
	}

	// A throttle longer than the send may wait defers the mail.
	f.ThrottleSendMail(1, 120)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	d, err = tr.Send(ctx, testMail(3))
	if err != nil || d.Count(carrierwatch.Deferred) != 2 || !strings.Contains(d.Recipients[0].Reply, "429 ApplicationThrottled") {
		t.Errorf("long throttle: %+v, %v; want deferred with Graph's reply", d, err)
	}
}

func TestSendMailVerdicts(t *testing.T) {
	f, tr := newTransport(t)
	// A mailbox Graph does not know: every message is refused, as a whole.
	tr2, err := New(Config{Sender: "nobody@example.ac.jp", Endpoint: f.URL, Tokens: tr.tokens, HTTPClient: f.Client()}, "IT <nobody@example.ac.jp>", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr2.Send(t.Context(), testMail(1))
	if err != nil || !d.Whole || d.Count(carrierwatch.Refused) != 2 || !strings.Contains(d.Recipients[0].Reply, "404 ErrorInvalidUser") {
		t.Errorf("unknown sender: %+v, %v; want the whole message refused", d, err)
	}
	if strings.Contains(d.Recipients[0].Reply, "nobody@") {
		t.Errorf("reply shows an address unmasked: %q", d.Recipients[0].Reply)
	}
	// A mail that cannot be built never reaches Graph.
	bad := testMail(2)
	bad.To = []string{"not an address"}
	if _, err := tr.Send(t.Context(), bad); !carrierwatch.IsPermanent(err) {
		t.Errorf("bad mail: %v, want a permanent error", err)
	}
	if v, err := verdict([]string{"a@example.org"}, 400, "400 ErrorMimeContentInvalidBase64String: Invalid base64 string for MIME content."); err != nil || v.Whole || v.Count(carrierwatch.Refused) != 1 {
		t.Errorf("400: %+v, %v; want the recipient refused, not the whole relay", v, err)
	}
}

// TestFakeGraphAnswersLikeGraph: the fake refuses a body that is not base64
// MIME with 400, and a fifth concurrent request for one mailbox with 429
// MailboxConcurrency, which the transport waits out.
func TestFakeGraphAnswersLikeGraph(t *testing.T) {
	f, tr := newTransport(t)
	status, reply, _, err := tr.post(t.Context(), "this is not base64!")
	if err != nil || status != 400 || !strings.Contains(reply, "ErrorMimeContentInvalidBase64String") {
		t.Errorf("bad MIME: %d %q %v", status, reply, err)
	}
	f.SetMailLatency(100 * time.Millisecond)
	tr.slots = make(chan struct{}, 8) // more than Graph takes
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if d, err := tr.Send(t.Context(), testMail(i)); err != nil || d.Count(carrierwatch.Accepted) != 2 {
				t.Errorf("mail %d: %+v, %v", i, d, err)
			}
		})
	}
	wg.Wait()
	st := f.MailStats()
	if st.OverLimit == 0 || st.MaxInFlight > graphtest.MailboxConcurrency {
		t.Errorf("stats %+v: want 429s for MailboxConcurrency and never more than %d in flight", st, graphtest.MailboxConcurrency)
	}
	if got := len(f.SentMails()); got != 8 {
		t.Errorf("graph has %d mails, want 8 (each once)", got)
	}
}
