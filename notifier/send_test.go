package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

func openStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), store.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// script is a transport whose answer per recipient is scripted: the
// dispatcher's logic is under test here; the SMTP side has its own tests
// against a real server (email, cmd/carrierwatch).
type script struct {
	mu    sync.Mutex
	fail  map[string][]error // per first recipient, answers in order; nil = accept
	sent  map[string]int
	calls int
}

func (s *script) Send(_ context.Context, m *carrierwatch.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	to := m.To[0]
	if errs := s.fail[to]; len(errs) > 0 {
		s.fail[to] = errs[1:]
		if errs[0] != nil {
			return errs[0]
		}
	}
	if s.sent == nil {
		s.sent = map[string]int{}
	}
	s.sent[to]++
	return nil
}

func render(_ context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error) {
	return &carrierwatch.Mail{MessageID: m.MessageID, To: m.To, Subject: "s", Text: "t", HTML: "h", Kind: m.Kind}, nil
}

func planN(t testing.TB, db *store.DB, n int) *carrierwatch.Campaign {
	t.Helper()
	ctx := context.Background()
	inc, _, err := db.OpenIncident(ctx, "kddi", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for i := range n {
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage,
			UserID: fmt.Sprint(i), To: []string{fmt.Sprintf("u%d@example.com", i)}, MessageID: fmt.Sprint(i), Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDispatcherRetriesTemporaryAndRecordsPermanent(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 10)
	temp := &carrierwatch.SendError{Reply: "451 4.3.0 try later", Err: errors.New("451")}
	perm := &carrierwatch.SendError{Permanent: true, Reply: "550 5.1.1 no such user", Err: errors.New("550")}
	tr := &script{fail: map[string][]error{
		"u3@example.com": {temp, temp},
		"u5@example.com": {perm},
		"u7@example.com": {errors.New("connection refused")},
	}}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, discard, nil)
	waiting, err := d.Drain(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if waiting != 0 {
		t.Fatalf("waiting = %d, want 0", waiting)
	}
	got, err := db.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (carrierwatch.MessageCounts{Total: 10, Sent: 9, Failed: 1}); got.Counts != want {
		t.Fatalf("counts = %+v, want %+v", got.Counts, want)
	}
	for i := range 10 {
		to := fmt.Sprintf("u%d@example.com", i)
		want := 1
		if i == 5 {
			want = 0
		}
		if tr.sent[to] != want {
			t.Errorf("%s delivered %d times, want %d", to, tr.sent[to], want)
		}
	}
	failed, _ := db.Messages(ctx, store.MessageFilter{State: carrierwatch.MessageFailed})
	if len(failed) != 1 || failed[0].UserID != "5" || failed[0].LastError == "" {
		t.Fatalf("failed messages = %+v", failed)
	}
	if want := "550 5.1.1 no such user"; !strings.Contains(failed[0].LastError, want) {
		t.Errorf("recorded reply %q does not contain the server's %q", failed[0].LastError, want)
	}
}

// down is a transport that is down until up is closed.
type down struct {
	script
	up chan struct{}
}

func (d *down) Send(ctx context.Context, m *carrierwatch.Mail) error {
	select {
	case <-d.up:
		return d.script.Send(ctx, m)
	default:
		d.mu.Lock()
		d.calls++
		d.mu.Unlock()
		return errors.New("dial tcp 127.0.0.1:25: connection refused")
	}
}

func TestDispatcherWaitsForDeadRelayAndResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStore(t)
	c := planN(t, db, 50)
	tr := &down{up: make(chan struct{})}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond}, discard, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	time.Sleep(300 * time.Millisecond)
	tr.mu.Lock()
	calls := tr.calls
	tr.mu.Unlock()
	// While the relay is down the dispatcher pauses instead of trying
	// every message: far fewer attempts than messages.
	if calls >= 50 {
		t.Fatalf("%d attempts against a dead relay in 300ms; want a pause, not a stampede", calls)
	}
	close(tr.up)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, _ := db.Campaign(ctx, c.ID)
		if got.Counts.Sent == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	got, _ := db.Campaign(context.Background(), c.ID)
	if got.Counts.Sent != 50 {
		t.Fatalf("after the relay came back: %+v", got.Counts)
	}
	for to, n := range tr.sent {
		if n != 1 {
			t.Errorf("%s delivered %d times", to, n)
		}
	}
}

// slow blocks each send until release is closed, to stop the dispatcher
// while a message is on the wire.
type slow struct {
	script
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slow) Send(ctx context.Context, m *carrierwatch.Mail) error {
	s.once.Do(func() { close(s.started) })
	<-s.release
	return s.script.Send(ctx, m)
}

func TestDispatcherStopFinishesMessageOnTheWire(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := openStore(t)
	c := planN(t, db, 20)
	tr := &slow{started: make(chan struct{}), release: make(chan struct{})}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 1}, discard, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	<-tr.started
	cancel()
	close(tr.release)
	<-done
	got, _ := db.Campaign(context.Background(), c.ID)
	if got.Counts.Sending != 0 {
		t.Fatalf("messages left in sending after a clean stop: %+v", got.Counts)
	}
	if got.Counts.Sent < 1 || got.Counts.Sent+got.Counts.Pending != 20 {
		t.Fatalf("after stop: %+v (the message on the wire must be recorded as sent, the rest pending)", got.Counts)
	}
}

func TestCancelledCampaignSendsNothing(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 5)
	if _, err := db.CancelCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	tr := &script{}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2}, discard, nil)
	if _, err := d.Drain(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if tr.calls != 0 {
		t.Fatalf("%d sends for a cancelled campaign", tr.calls)
	}
}
