package service_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/service"
)

func TestRehearseApprovesAndRecipientsNameUsers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, true, true)
	o, err := f.svc.OpenIncident(ctx, "kddi", "", "cli:root")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Once(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := f.smtp.Count(); n != 0 {
		t.Fatalf("%d mails sent before approval", n)
	}
	res, err := f.svc.Rehearse(ctx, "dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent.Sent != 4 || !f.smtp.WaitCount(4, 5*time.Second) {
		t.Fatalf("rehearsal sent %d (server got %d), want the 4 held mails", res.Sent.Sent, f.smtp.Count())
	}
	d, err := f.svc.Campaign(ctx, o.Plan.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Audit) != 1 || d.Audit[0].Actor != "dry-run" || d.Audit[0].Action != carrierwatch.AuditCampaignApproved {
		t.Errorf("audit %+v, want the rehearsal's approval", d.Audit)
	}

	msgs, err := f.svc.Messages(ctx, service.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	mails := []*carrierwatch.Mail{{MessageID: "<unknown@example.ac.jp>", IncidentID: 9}}
	for _, m := range msgs {
		mails = append(mails, &carrierwatch.Mail{MessageID: m.MessageID, IncidentID: m.IncidentID})
	}
	who, err := f.svc.Recipients(ctx, mails)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range who {
		got = append(got, r.UserID+" "+r.UPN)
	}
	if last := who[len(who)-1]; last.Mail.IncidentID != 9 || last.UserID != "" {
		t.Errorf("recipients not by incident, or an unknown mail got a user: %+v", last)
	}
	sort.Strings(got)
	want := " \n0 0@example.ac.jp\n1 1@example.ac.jp\n2 2@example.ac.jp\n3 3@example.ac.jp"
	if strings.Join(got, "\n") != want {
		t.Errorf("recipients:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
