package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// fixture is a service on a real database with users 0–3 on au numbers
// (user 3 also has an authenticator app) and, with smtp, a real SMTP
// transport to an in-process server.
type fixture struct {
	svc  *service.Service
	db   *store.DB
	smtp *smtptest.Server
}

func newFixture(t *testing.T, requireApproval, smtp bool) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
state_dir: /unused
carriers:
  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]
  - id: docomo
    name: docomo
    match: {prefixes: ["+81909"]}
    sources: [{type: feed, url: "https://example.jp/docomo"}]
mail: {from: "IT <it@example.ac.jp>", concurrency: 2}
notify: {require_approval: %v}
`, requireApproval)))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range 4 {
		id := fmt.Sprint(i)
		u.Users = append(u.Users, carrierwatch.User{ID: id, UPN: id + "@example.ac.jp", Mail: id + "@example.ac.jp"})
		methods := []string{"mobilePhone"}
		if i == 3 {
			methods = append(methods, "microsoftAuthenticatorPush")
		}
		u.Auth = append(u.Auth, directory.Auth{UserID: id, Methods: methods,
			Phones: []carrierwatch.Phone{{Type: "mobile", Raw: "x", E164: fmt.Sprintf("+8190800000%02d", i)}}})
	}
	if _, err := db.ApplyDirectory(ctx, u, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSync(ctx, store.SyncRecord{OK: true, Users: 4, FinishedAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{db: db}
	deps := service.Deps{Store: db, Templates: tmpl, Logger: logger, Fetcher: detector.NewFetcher(detector.Options{Logger: logger})}
	if smtp {
		f.smtp = smtptest.Start(t, smtptest.Options{})
		host, port, _ := strings.Cut(f.smtp.Addr, ":")
		p, _ := strconv.Atoi(port)
		tr, err := email.NewSMTP(email.SMTPConfig{Host: host, Port: p, TLS: "none", Timeout: 5 * time.Second}, cfg.Mail.From, 2, logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		deps.Transport = tr
	}
	if f.svc, err = service.New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOpenApproveResolveIsAudited(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true, false)
	o, err := f.svc.OpenIncident(ctx, "kddi", "au down in Tokyo", "console:aoki@example.ac.jp")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Created || o.Plan == nil || o.Plan.Affected != 4 || o.Plan.New != 4 {
		t.Fatalf("open: %+v plan %+v, want a new incident with 4 mails planned", o, o.Plan)
	}
	again, err := f.svc.OpenIncident(ctx, "kddi", "", "cli:root")
	if err != nil || again.Created || again.Incident.ID != o.Incident.ID {
		t.Fatalf("second open: %+v, %v; want the open incident back", again, err)
	}
	c, err := f.svc.ApproveCampaign(ctx, o.Plan.CampaignID, "console:aoki@example.ac.jp")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.State, carrierwatch.CampaignActive; got != want {
		t.Errorf("approved campaign state %q, want %q", got, want)
	}
	if _, err := f.svc.ResolveIncident(ctx, o.Incident.ID, "back", "cli:suzuki"); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Incident(ctx, o.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range d.Audit {
		got = append(got, e.Actor+" "+string(e.Action))
	}
	want := []string{
		"console:aoki@example.ac.jp incident.open",
		"console:aoki@example.ac.jp campaign.approve",
		"cli:suzuki incident.resolve",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("incident audit trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Incident.State != carrierwatch.IncidentResolved || len(d.Campaigns) == 0 || len(d.Events) < 2 {
		t.Errorf("incident detail: %+v, %d campaigns, %d events", d.Incident, len(d.Campaigns), len(d.Events))
	}
}

func TestOpenIncidentUnknownCarrier(t *testing.T) {
	f := newFixture(t, false, false)
	_, err := f.svc.OpenIncident(context.Background(), "rakuten", "", "cli:root")
	if err == nil || !strings.Contains(err.Error(), `"rakuten"`) {
		t.Fatalf("err = %v, want one naming the carrier", err)
	}
}

func TestCampaignGroupsFailuresByReply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false, true)
	f.smtp.RejectRcpt("1@example.ac.jp", 550, "5.1.1 <1@example.ac.jp>: Recipient address rejected: User unknown")
	f.smtp.RejectRcpt("2@example.ac.jp", 550, "5.1.1 <2@example.ac.jp>: Recipient address rejected: User unknown")
	f.smtp.RejectRcpt("3@example.ac.jp", 552, "5.2.2 mailbox full")
	o, err := f.svc.OpenIncident(ctx, "kddi", "", "cli:root")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Once(ctx, 0); err != nil {
		t.Fatalf("once: %v", err)
	}
	d, err := f.svc.Campaign(ctx, o.Plan.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Campaign.Counts.Failed, 3; got != want {
		t.Fatalf("failed %d, want %d (counts %+v)", got, want, d.Campaign.Counts)
	}
	if len(d.Failures) != 2 {
		t.Fatalf("failure groups: %+v, want 2", d.Failures)
	}
	if g := d.Failures[0]; g.Count != 2 || !strings.Contains(g.Reply, "550") || !strings.Contains(g.Reply, "<***@example.ac.jp>") || strings.Contains(g.Reply, "1@") {
		t.Errorf("first group %+v, want the two 550 replies together, addresses hidden", g)
	}
	if g := d.Failures[1]; g.Count != 1 || !strings.Contains(g.Reply, "552") {
		t.Errorf("second group %+v, want the 552 reply once", g)
	}
}

func TestDirectoryStatsAndExposure(t *testing.T) {
	f := newFixture(t, false, false)
	st, err := f.svc.DirectoryStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Users != 4 || st.WithPhone != 4 || st.WayIn != 1 || st.PhoneOnly != 3 || st.LastOK.Users != 4 {
		t.Errorf("stats %+v", st)
	}
	if len(st.Exposure) != 2 {
		t.Fatalf("exposure %+v, want both carriers", st.Exposure)
	}
	kddi, docomo := st.Exposure[0], st.Exposure[1]
	if kddi.Affected != 4 || kddi.BySegment[carrierwatch.SegmentPhoneOnly] != 3 || kddi.BySegment[carrierwatch.SegmentApp] != 1 {
		t.Errorf("kddi exposure %+v", kddi)
	}
	if docomo.Affected != 0 {
		t.Errorf("docomo exposure %+v, want nobody", docomo)
	}
}

func TestPreview(t *testing.T) {
	f := newFixture(t, false, false)
	p, err := f.svc.Preview(context.Background(), service.PreviewRequest{Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentOtherPhone, Lang: "en", CarrierID: "docomo"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject == "" || !strings.Contains(p.Text, "docomo") || !strings.Contains(p.Text, "+81 80-****-2222") || !strings.Contains(p.HTML, "<") {
		t.Errorf("preview:\nSubject: %s\n%s", p.Subject, p.Text)
	}
	if _, err := f.svc.Preview(context.Background(), service.PreviewRequest{Kind: "outage", Segment: "nobody", Lang: "en"}); err == nil {
		t.Error("a preview of an unknown segment did not fail")
	}
}
