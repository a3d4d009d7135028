package console_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/internal/browsertest"
	"github.com/carrierwatch/carrierwatch/store"
)

// screenshots, when set, is the folder the browser test writes its
// screenshots to: go test ./console -run Browser -screenshots ../docs/screenshots
var screenshots = flag.String("screenshots", "", "write screenshots of the main pages to `DIR`")

// button finds a button by its exact label, as a person or a screen reader
// would.
func button(label string) chromedp.Search {
	return chromedp.Search(`//button[normalize-space(.)='` + label + `']`)
}

// TestBrowserApproveWatchSearch drives headless Chromium through the
// console: the held campaign on the overview, Approve and confirm, progress
// to 100 % as the in-process SMTP server receives the mails, then the help
// desk's search and the mail a user received.
func TestBrowserApproveWatchSearch(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true, send: true, users: 60, rate: 5})
	inc, camp := f.openIncident(t)
	ctx := browsertest.New(t, browsertest.Options{Width: 1280, Height: 900})
	shot := func(name string) {
		t.Helper()
		if *screenshots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if got := text("ul.attention"); !strings.Contains(got, "Campaign "+itoa(camp)+" (outage, 30 mails) is waiting for approval.") {
		t.Fatalf("overview's attention list: %q", got)
	}
	shot("overview-held")

	if err := chromedp.Do(ctx, chromedp.Click(button("Approve")), chromedp.WaitVisible(chromedp.CSS("#what-happens"))); err != nil {
		t.Fatal(err)
	}
	if got, want := text("#what-happens"), "30 mails will be sent, in under a minute at 5/s."; got != want {
		t.Fatalf("confirmation: %q, want %q", got, want)
	}
	shot("confirm-approve")
	if f.smtp.Count() != 0 {
		t.Fatal("mail sent before the confirmation")
	}
	if err := chromedp.Do(ctx, chromedp.Click(button("Approve")), chromedp.WaitVisible(chromedp.CSS("p.flash"))); err != nil {
		t.Fatal(err)
	}
	// The page's script refreshes the progress until every mail is sent.
	deadline := time.Now().Add(60 * time.Second)
	midShot := false
	for {
		done := text(`section.campaign-progress [data-field="done"]`)
		if done == "100 %" {
			break
		}
		if !midShot && done != "0 %" {
			shot("campaign-sending")
			midShot = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress stuck at %q; the SMTP server has %d of 30 mails", done, f.smtp.Count())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := f.smtp.Count(); got != 30 {
		t.Fatalf("progress says 100 %% and the SMTP server has %d of 30 mails", got)
	}
	if got := text(`section.campaign-progress [data-field="sent"]`); got != "30" {
		t.Errorf("sent count on the page: %q", got)
	}
	shot("campaign-sent")

	// Help desk: search, open the user, open their mail.
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/users"),
		chromedp.SendKeys(chromedp.CSS(`input[aria-label="Search users"]`), "private00014\n"),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "青木 美咲")]`))); err != nil {
		t.Fatal(err)
	}
	if got := text("main"); !strings.Contains(got, "private00014@mail.example.net") || !strings.Contains(got, "+81 90-****-0014") || !strings.Contains(got, "sent") {
		t.Errorf("user page: %q", got)
	}
	shot("helpdesk-user")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.Search(`//a[normalize-space(.)='Open mail']`)), chromedp.WaitVisible(chromedp.CSS("pre.mail"))); err != nil {
		t.Fatal(err)
	}
	if got := text("pre.mail"); !strings.Contains(got, "au / UQ mobile / povo") {
		t.Errorf("the mail as received: %q", got)
	}
	shot("helpdesk-mail")

	if *screenshots != "" {
		seedPreparedness(t, f)
		for _, p := range [][2]string{{"incident", "/incidents/" + itoa(inc.ID)}, {"exposure", "/exposure"}, {"overview-ja", "/lang?to=ja&back=/"}} {
			if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+p[1])); err != nil {
				t.Fatal(err)
			}
			shot(p[0])
		}
		chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/lang?to=en&back=/"))
	}
}

// seedPreparedness runs a preparedness campaign and three directory syncs
// in which some of the mailed users register an app, so the exposure
// page's line has points.
func seedPreparedness(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	r, err := f.svc.PlanPreparedness(ctx, false, "cli:test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApproveCampaign(ctx, r.CampaignID, "cli:test"); err != nil {
		t.Fatal(err)
	}
	if !f.smtp.WaitCount(30+r.New, 60*time.Second) {
		t.Fatalf("preparedness mails: %d", f.smtp.Count())
	}
	mailed := 0
	for round := range 3 {
		u := &directory.Update{}
		for i := range 60 {
			_, auth := fixtureUser(i)
			if i%3 != 0 && i%5 != 0 && (i+round)%4 == 0 && mailed < 4*(round+1) {
				auth.Methods = append(auth.Methods, "passKeyDeviceBound")
				u.Auth = append(u.Auth, auth)
				mailed++
			}
		}
		if _, err := f.db.ApplyDirectory(ctx, u, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RecordExposure(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
