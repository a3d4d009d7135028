package main

import (
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
