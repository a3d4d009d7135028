package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/store"
)

func TestExposureSnapshotMeasuresPreparedness(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, false, true)
	h, err := f.svc.ExposureHistory(ctx)
	if err != nil || h.Latest != nil {
		t.Fatalf("before any measurement: %+v, %v", h, err)
	}
	if _, err := f.svc.PlanPreparedness(ctx, false, "cli:test"); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.svc.RunSender(sctx) }()
	if !f.smtp.WaitCount(3, 20*time.Second) {
		t.Fatalf("%d of 3 preparedness mails sent", f.smtp.Count())
	}
	stop()
	<-done
	if err := f.svc.RecordExposure(ctx); err != nil {
		t.Fatal(err)
	}
	// User 0 registers a passkey; the next measurement counts them.
	u := &directory.Update{Auth: []directory.Auth{{UserID: "0", Methods: []string{"mobilePhone", "passKeyDeviceBound"},
		Phones: []carrierwatch.Phone{{Type: "mobile", Raw: "x", E164: "+819080000000"}}}}}
	if _, err := f.db.ApplyDirectory(ctx, u, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RecordExposure(ctx); err != nil {
		t.Fatal(err)
	}
	h, err = f.svc.ExposureHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Preparedness) != 2 || h.Preparedness[0].Mailed != 3 || h.Preparedness[0].Registered != 0 || h.Preparedness[1].Registered != 1 {
		t.Fatalf("preparedness line = %+v, want mailed 3 and registered 0 then 1", h.Preparedness)
	}
	kddi := h.Latest.Carriers[0]
	if kddi.CarrierID != "kddi" || kddi.App != 2 || kddi.PhoneOnly != 2 || kddi.OtherPhone != 0 || kddi.NoAddress != 0 {
		t.Errorf("kddi exposure = %+v, want 2 app (users 0 and 3) and 2 phone-only", kddi)
	}
}

func TestUserDetailAndStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true, false)
	if _, err := f.svc.OpenIncident(ctx, "kddi", "", "cli:test"); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.User(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Segments) != 2 || !d.Segments[0].Affected || d.Segments[0].Segment != carrierwatch.SegmentPhoneOnly || d.Segments[1].Affected {
		t.Errorf("segments = %+v, want phone-only for kddi, not affected by docomo", d.Segments)
	}
	if len(d.Messages) != 1 || d.Messages[0].Kind != carrierwatch.KindOutage {
		t.Errorf("messages = %+v", d.Messages)
	}
	m, mail, err := f.svc.RenderMessage(ctx, d.Messages[0].ID)
	if err != nil || m.UserID != "1" || mail.Subject == "" || mail.HTML == "" {
		t.Fatalf("render message: %v %+v", err, mail)
	}
	if _, err := f.svc.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	us, err := f.svc.FindUsers(ctx, "2@example", 10)
	if err != nil || len(us) != 1 || us[0].ID != "2" || len(us[0].Phones) != 1 {
		t.Errorf("find users: %+v, %v", us, err)
	}
	st, err := f.svc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Carriers) != 2 || len(st.Sources) != 2 || st.Directory.Users != 4 || st.Directory.LastOK.IsZero() || st.Relay.RatePerSecond != 20 {
		t.Errorf("status = %+v", st)
	}
	if st.Sources[0].ID != "kddi/example.jp/rss" || st.Sources[0].NextPoll.IsZero() {
		t.Errorf("source = %+v", st.Sources[0])
	}
}
