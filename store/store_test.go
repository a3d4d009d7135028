package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/store"
)

// MustOpen opens a database in a temporary folder, closed at test end.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), store.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.Meta(ctx, "k"); got != "v" {
		t.Fatalf("meta after reopen = %q, want v", got)
	}
}

func TestIncidentLifecycle(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	sig := func(hash, verdict string) store.Signal {
		return store.Signal{CarrierID: "kddi", SourceID: "kddi/0", Hash: hash, Key: hash, Title: "t " + hash, Verdict: verdict}
	}
	steps := []struct {
		name   string
		sig    store.Signal
		opened bool
		upd    bool
		res    bool
		dup    bool
	}{
		{"resolved with nothing open does nothing", sig("r0", store.VerdictResolved), false, false, false, false},
		{"outage opens", sig("a", store.VerdictOutage), true, false, false, false},
		{"same content again is a duplicate", sig("a", store.VerdictOutage), false, false, false, true},
		{"partial recovery only updates", sig("b", store.VerdictNotResolved), false, true, false, false},
		{"ignored changes nothing", sig("c", "ignored"), false, false, false, false},
		{"recovery resolves", sig("d", store.VerdictResolved), false, false, true, false},
		{"a new outage opens a second incident", sig("e", store.VerdictOutage), true, false, false, false},
	}
	for _, st := range steps {
		out, err := db.ApplySignal(ctx, st.sig, false)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if out.Opened != st.opened || out.Updated != st.upd || out.Resolved != st.res || out.Duplicate != st.dup {
			t.Errorf("%s: got %+v", st.name, out)
		}
	}
	all, err := db.Incidents(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(all), 2; got != want {
		t.Fatalf("incidents = %d, want %d", got, want)
	}
	if all[1].State != carrierwatch.IncidentResolved || all[0].State != carrierwatch.IncidentOpen {
		t.Errorf("states = %s, %s", all[1].State, all[0].State)
	}
	ev, err := db.IncidentEvents(ctx, all[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ev), 3; got != want {
		t.Errorf("events of first incident = %d, want %d (open, update, resolve)", got, want)
	}
}

func TestConfirmPolls(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	out, err := db.ApplySignal(ctx, store.Signal{CarrierID: "sb", SourceID: "sb/0", Hash: "h", Verdict: store.VerdictOutage}, true)
	if err != nil || !out.Pending || out.Opened {
		t.Fatalf("first signal: %+v %v", out, err)
	}
	for i := 1; i <= 2; i++ {
		out, err = db.ConfirmPoll(ctx, "sb", []string{"h"}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if out.Opened {
			t.Fatalf("opened after %d polls, want 3", i)
		}
	}
	out, err = db.ConfirmPoll(ctx, "sb", []string{"h"}, 3)
	if err != nil || !out.Opened {
		t.Fatalf("third poll: %+v %v", out, err)
	}
	// A vanished notice resets the count.
	db2 := MustOpen(t)
	db2.ApplySignal(ctx, store.Signal{CarrierID: "sb", SourceID: "sb/0", Hash: "h", Verdict: store.VerdictOutage}, true)
	db2.ConfirmPoll(ctx, "sb", []string{"h"}, 2)
	db2.ConfirmPoll(ctx, "sb", nil, 2)
	out, _ = db2.ConfirmPoll(ctx, "sb", []string{"h"}, 2)
	out2, _ := db2.ConfirmPoll(ctx, "sb", []string{"h"}, 2)
	if out.Opened || out2.Opened {
		t.Fatal("opened although the notice vanished in between")
	}
	// Another outage notice being listed does not confirm the pending one.
	db3 := MustOpen(t)
	db3.ApplySignal(ctx, store.Signal{CarrierID: "sb", SourceID: "sb/0", Hash: "blip", Verdict: store.VerdictOutage}, true)
	for range 3 {
		if out, _ := db3.ConfirmPoll(ctx, "sb", []string{"old-apology"}, 2); out.Opened {
			t.Fatal("a different outage notice confirmed the pending one")
		}
	}
	// A recovery before confirmation ends it: nothing opens afterwards.
	db4 := MustOpen(t)
	db4.ApplySignal(ctx, store.Signal{CarrierID: "sb", SourceID: "sb/0", Hash: "blip", Verdict: store.VerdictOutage}, true)
	db4.ApplySignal(ctx, store.Signal{CarrierID: "sb", SourceID: "sb/0", Hash: "fixed", Verdict: store.VerdictResolved}, true)
	for range 3 {
		if out, _ := db4.ConfirmPoll(ctx, "sb", []string{"blip"}, 2); out.Opened {
			t.Fatal("an outage that recovered before confirmation opened an incident")
		}
	}
}

func users(n int) *directory.Update {
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range n {
		id := string(rune('a'+i%26)) + time.Duration(i).String()
		u.Users = append(u.Users, carrierwatch.User{ID: id, UPN: id + "@x", Mail: id + "@x", AlternateEmails: []string{id + "@alt"}})
		u.Auth = append(u.Auth, directory.Auth{UserID: id, Methods: []string{"mobilePhone"},
			Phones: []carrierwatch.Phone{{Type: carrierwatch.PhoneMobile, Raw: "+81 9012345678", E164: "+819012345678"}}})
	}
	return u
}

func TestApplyDirectory(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.ApplyDirectory(ctx, users(10), store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || len(got[0].Phones) != 1 || got[0].Phones[0].E164 != "+819012345678" || len(got[0].Methods) != 1 || len(got[0].AlternateEmails) != 1 {
		t.Fatalf("users = %+v", got[0])
	}
	// A full update with 3 users would remove 70%: refused, nothing changes.
	_, err = db.ApplyDirectory(ctx, users(3), store.ApplyOptions{})
	if !errors.Is(err, store.ErrShrink) {
		t.Fatalf("shrink: err = %v, want ErrShrink", err)
	}
	if got, _ := db.Users(ctx); len(got) != 10 {
		t.Fatalf("after refused update: %d users, want 10", len(got))
	}
	// Allowed explicitly.
	res, err := db.ApplyDirectory(ctx, users(3), store.ApplyOptions{MaxRemoveFraction: 1})
	if err != nil || res.Removed != 7 || res.Users != 3 {
		t.Fatalf("allowed shrink: %+v %v", res, err)
	}
	// Incremental: remove one, change auth of another.
	inc := &directory.Update{Removed: []string{got[0].ID}, Auth: []directory.Auth{{UserID: got[1].ID, Methods: []string{"fido2"}}}}
	if _, err := db.ApplyDirectory(ctx, inc, store.ApplyOptions{MaxRemoveFraction: 1}); err != nil {
		t.Fatal(err)
	}
	after, _ := db.Users(ctx)
	if len(after) != 2 || after[0].ID != got[1].ID || len(after[0].Phones) != 0 || after[0].Methods[0] != "fido2" || len(after[1].Phones) != 1 {
		t.Fatalf("after incremental: %+v", after)
	}
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	inc, _, err := db.OpenIncident(ctx, "kddi", "manual", "")
	if err != nil {
		t.Fatal(err)
	}
	c, created, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignAwaitingApproval)
	if err != nil || !created {
		t.Fatal(err)
	}
	c2, created, _ := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	if created || c2.ID != c.ID {
		t.Fatal("second EnsureCampaign created another campaign")
	}
	msgs := []carrierwatch.Message{
		{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, UserID: "u1", To: []string{"a@x"}, MessageID: "m1", Data: []byte("{}")},
		{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, UserID: "u2", To: []string{"b@x"}, MessageID: "m2", Data: []byte("{}")},
	}
	if n, err := db.PlanMessages(ctx, msgs); err != nil || n != 2 {
		t.Fatalf("plan: %d %v", n, err)
	}
	if n, _ := db.PlanMessages(ctx, msgs); n != 0 {
		t.Fatalf("replanning inserted %d, want 0", n)
	}
	if got, _ := db.ClaimMessages(ctx, 10); len(got) != 0 {
		t.Fatalf("claimed %d messages of a campaign awaiting approval", len(got))
	}
	if _, err := db.ApproveCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimMessages(ctx, 1)
	if err != nil || len(got) != 1 || got[0].UserID != "u1" || got[0].State != carrierwatch.MessageSending || got[0].To[0] != "a@x" {
		t.Fatalf("claim: %+v %v", got, err)
	}
	// Crash: the claimed message is requeued.
	if n, _ := db.RequeueSending(ctx); n != 1 {
		t.Fatalf("requeued %d, want 1", n)
	}
	got, _ = db.ClaimMessages(ctx, 10)
	if len(got) != 2 {
		t.Fatalf("claimed %d after requeue, want 2", len(got))
	}
	db.MarkSent(ctx, got[0].ID)
	db.MarkRetry(ctx, got[1].ID, time.Now().Add(time.Hour), "451 try later", 0)
	cc, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 2, Pending: 1, Sent: 1, Waiting: 1}); cc.Counts != want {
		t.Fatalf("counts = %+v, want %+v", cc.Counts, want)
	}
	if got, _ := db.ClaimMessages(ctx, 10); len(got) != 0 {
		t.Fatal("claimed a message before its retry time")
	}
	if _, err := db.CancelCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	cc, _ = db.Campaign(ctx, c.ID)
	if cc.Counts.Cancelled != 1 || cc.Counts.Sent != 1 {
		t.Fatalf("after cancel: %+v", cc.Counts)
	}
	hist, _ := db.Messages(ctx, store.MessageFilter{Query: "b@x"})
	if len(hist) != 1 || hist[0].UserID != "u2" {
		t.Fatalf("history by address: %+v", hist)
	}
}

// planCampaign plans one message per user id in a new preparedness
// campaign in state.
func planCampaign(t *testing.T, db *store.DB, state carrierwatch.CampaignState, ids ...string) *carrierwatch.Campaign {
	t.Helper()
	ctx := context.Background()
	c, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, state)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for _, id := range ids {
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, Kind: carrierwatch.KindPreparedness, UserID: id,
			To: []string{id + "@x"}, MessageID: id, Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	c := planCampaign(t, db, carrierwatch.CampaignActive, "u1", "u2")
	byUser := func() map[string]*carrierwatch.Message {
		t.Helper()
		msgs, err := db.Messages(ctx, store.MessageFilter{CampaignID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*carrierwatch.Message{}
		for _, m := range msgs {
			out[m.UserID] = m
		}
		return out
	}
	got, err := db.ClaimMessages(ctx, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim: %d %v", len(got), err)
	}
	u1, u2 := got[0].ID, got[1].ID
	// u1 failed once; its second claim is handed back unsent.
	if err := db.MarkRetry(ctx, u1, time.Now().Add(-time.Second), "451 try later", 0); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.ClaimMessages(ctx, 10); len(got) != 1 || got[0].Attempts != 2 {
		t.Fatalf("second claim: %+v", got)
	}
	at := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if err := db.Release(ctx, u1, at); err != nil {
		t.Fatal(err)
	}
	if err := db.Release(ctx, u2, time.Now()); err != nil {
		t.Fatal(err)
	}
	m := byUser()
	if got, want := m["u1"].State, carrierwatch.MessagePending; got != want {
		t.Errorf("state after release = %s, want %s", got, want)
	}
	if got, want := m["u1"].Attempts, 1; got != want {
		t.Errorf("attempts after release = %d, want %d", got, want)
	}
	if got, want := m["u1"].LastError, "451 try later"; got != want {
		t.Errorf("last error after release = %q, want %q", got, want)
	}
	if !m["u1"].NextAt.Equal(at) {
		t.Errorf("next at = %v, want %v", m["u1"].NextAt, at)
	}
	if got, want := m["u2"].Attempts, 0; got != want {
		t.Errorf("attempts of a message released after its first claim = %d, want %d", got, want)
	}
	// Only u1, which really failed once, is waiting for a retry.
	cc, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 2, Pending: 2, Waiting: 1}); cc.Counts != want {
		t.Errorf("counts = %+v, want %+v", cc.Counts, want)
	}
	// Releasing a message that is not sending changes nothing.
	if err := db.Release(ctx, u2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.ClaimMessages(ctx, 10); len(got) != 1 || got[0].ID != u2 {
		t.Fatalf("third claim: %+v", got)
	}
	if err := db.MarkSent(ctx, u2); err != nil {
		t.Fatal(err)
	}
	if err := db.Release(ctx, u2, time.Now()); err != nil {
		t.Fatal(err)
	}
	m = byUser()
	if got, want := m["u2"].State, carrierwatch.MessageSent; got != want {
		t.Errorf("state of a sent message after release = %s, want %s", got, want)
	}
	if got, want := m["u2"].Attempts, 1; got != want {
		t.Errorf("attempts of a sent message after release = %d, want %d", got, want)
	}
}

func TestActiveOutboxCounts(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	planCampaign(t, db, carrierwatch.CampaignActive, "a1", "a2")
	planCampaign(t, db, carrierwatch.CampaignAwaitingApproval, "w1", "w2", "w3")
	cancelled := planCampaign(t, db, carrierwatch.CampaignActive, "c1")
	if _, err := db.CancelCampaign(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.ActiveOutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (carrierwatch.MessageCounts{Total: 2, Pending: 2}); got != want {
		t.Errorf("active counts = %+v, want %+v", got, want)
	}
	all, err := db.OutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (carrierwatch.MessageCounts{Total: 6, Pending: 5, Cancelled: 1}); all != want {
		t.Errorf("all counts = %+v, want %+v", all, want)
	}
}

// TestClaimSkipsOutageMailsOfResolvedIncidents: an outage mail that was
// handed back to the outbox while the incident resolved must not go out.
func TestClaimSkipsOutageMailsOfResolvedIncidents(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	inc, _, _ := db.OpenIncident(ctx, "kddi", "t", "")
	c, _, _ := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	db.PlanMessages(ctx, []carrierwatch.Message{{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, UserID: "u", To: []string{"u@x"}, MessageID: "m", Data: []byte("{}")}})
	if _, err := db.ResolveIncident(ctx, inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ClaimMessages(ctx, 10); len(got) != 0 {
		t.Fatalf("claimed %d outage mails of a resolved incident", len(got))
	}
}
