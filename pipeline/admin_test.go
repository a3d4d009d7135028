package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

func (r *recorder) ofKind(kind carrierwatch.Kind) []*carrierwatch.Mail {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*carrierwatch.Mail
	for _, m := range r.mails {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestAdminAlerts: notify.admins hear when a regional incident opens with
// its campaign held (and the exact command that approves it), when it
// spreads nationwide (the campaign is released and users are mailed), and
// when it resolves; each once, through the outbox and the transport.
func TestAdminAlerts(t *testing.T) {
	srv := newServer(t, "")
	carrier := fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: page, url: "%s/src", items: "li"}]`, srv.URL)
	e, rec := engine(t, carrier)
	withNotify(t, e, carrier, `{admins: ["Ops <ops@example.ac.jp>", "noc@example.ac.jp"]}`)
	ctx := context.Background()
	now := time.Now()
	poll := func(title string) {
		t.Helper()
		srv.body.Store(indexPage(item(now, "/n/1.html", title)))
		if _, err := e.Once(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}

	poll("石川県の一部エリアでau携帯電話サービスがご利用しづらい状況について")
	alerts := rec.ofKind(carrierwatch.KindAdmin)
	if len(alerts) != 2 || rec.count(carrierwatch.KindOutage) != 0 {
		t.Fatalf("%d alerts and %d outage mails, want 2 alerts (one per admin) and the campaign held", len(alerts), rec.count(carrierwatch.KindOutage))
	}
	camps, _ := e.Store.Campaigns(ctx)
	var held int64
	for _, c := range camps {
		if c.Kind == carrierwatch.KindOutage {
			held = c.ID
		}
	}
	a := alerts[0]
	for _, want := range []string{"regional: 石川県", fmt.Sprintf("carrierwatch campaigns approve %d", held), "phone-only 3", "石川県の一部エリア", "Rule:"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("alert lacks %q:\n%s", want, a.Text)
		}
	}
	if !strings.Contains(a.Subject, "waits for approval") {
		t.Errorf("subject %q does not say the campaign waits", a.Subject)
	}

	// The same notice, edited in place, now says nationwide.
	poll("全国でau携帯電話サービスがご利用しづらい状況について")
	if got := rec.count(carrierwatch.KindOutage); got != 3 {
		t.Fatalf("outage mails = %d after the outage spread nationwide, want 3", got)
	}
	alerts = rec.ofKind(carrierwatch.KindAdmin)
	if len(alerts) != 4 || !strings.Contains(alerts[3].Subject, "changed scope") || !strings.Contains(alerts[3].Text, "Scope:    national") {
		t.Fatalf("%d alerts, last %q; want a scope-change alert per admin", len(alerts), alerts[len(alerts)-1].Subject)
	}

	poll("【復旧】全国でau携帯電話サービスがご利用しづらい状況について")
	alerts = rec.ofKind(carrierwatch.KindAdmin)
	if len(alerts) != 6 || !strings.Contains(alerts[5].Subject, "resolved") {
		t.Fatalf("%d alerts, want a resolved alert per admin", len(alerts))
	}
	// Planning again sends nothing new.
	if _, err := e.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Once(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.ofKind(carrierwatch.KindAdmin)); got != 6 {
		t.Fatalf("%d alerts after replanning, want still 6", got)
	}
	for _, m := range rec.ofKind(carrierwatch.KindAdmin) {
		if len(m.To) != 1 || (m.To[0] != "ops@example.ac.jp" && m.To[0] != "noc@example.ac.jp") {
			t.Errorf("alert to %v", m.To)
		}
	}
}
