package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
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

// verdictErr scripts a server's verdict on every recipient of a mail; the
// fake transports below return it from Send as a Delivery (see answer).
type verdictErr struct {
	verdict carrierwatch.Verdict
	whole   bool // a verdict on the message as a whole (MAIL FROM, DATA)
	reply   string
}

func (e *verdictErr) Error() string { return e.reply }

func deferredAll(reply string) error {
	return &verdictErr{verdict: carrierwatch.Deferred, reply: reply}
}

func refusedAll(reply string) error {
	return &verdictErr{verdict: carrierwatch.Refused, reply: reply}
}

func refusedWhole(reply string) error {
	return &verdictErr{verdict: carrierwatch.Refused, whole: true, reply: reply}
}

// answer turns a scripted outcome into Send's result: a verdictErr into
// its Delivery, another error into itself, nil into every recipient
// accepted.
func answer(m *carrierwatch.Mail, err error) (carrierwatch.Delivery, error) {
	var ve *verdictErr
	switch {
	case errors.As(err, &ve):
		d := carrierwatch.Everyone(m.To, ve.verdict, ve.reply)
		d.Whole = ve.whole
		return d, nil
	case err != nil:
		return carrierwatch.Delivery{}, err
	}
	return carrierwatch.Everyone(m.To, carrierwatch.Accepted, "250 2.0.0 ok"), nil
}

// script is a transport whose answer per recipient is scripted: the
// dispatcher's logic is under test here; the SMTP side has its own tests
// against a real server (email, cmd/carrierwatch).
type script struct {
	mu    sync.Mutex
	fail  map[string][]error // per first recipient, answers in order; nil = accept
	sent  map[string]int
	calls int
}

func (s *script) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	return answer(m, s.send(ctx, m))
}

func (s *script) send(_ context.Context, m *carrierwatch.Mail) error {
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
	temp := deferredAll("451 4.3.0 try later")
	perm := refusedAll("550 5.1.1 no such user")
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

// down is a transport that is down, or refuses every message with err,
// until up is closed.
type down struct {
	script
	up  chan struct{}
	err error // nil: connection refused
}

func (d *down) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	return answer(m, d.send(ctx, m))
}

func (d *down) send(ctx context.Context, m *carrierwatch.Mail) error {
	select {
	case <-d.up:
		return d.script.send(ctx, m)
	default:
		d.mu.Lock()
		d.calls++
		d.mu.Unlock()
		if d.err != nil {
			return d.err
		}
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

func (s *slow) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
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
	// The messages handed back were never tried: no attempt counted,
	// none shown as waiting for a retry.
	if got.Counts.Waiting != 0 {
		t.Errorf("%d messages handed back at stop are shown as waiting for a retry", got.Counts.Waiting)
	}
	pending, err := db.Messages(context.Background(), store.MessageFilter{CampaignID: c.ID, State: carrierwatch.MessagePending})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pending {
		if m.Attempts != 0 {
			t.Errorf("message %d handed back unsent has %d attempts, want 0", m.ID, m.Attempts)
		}
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

// syncBuffer collects log output from concurrent workers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestDispatcherFailsMessageRefusedFiveTimes(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 6)
	refusal := refusedWhole("554 5.7.1 content rejected")
	// A content filter refuses u3's mail every time; u4's only once.
	tr := &script{fail: map[string][]error{
		"u3@example.com": slices.Repeat([]error{refusal}, 10),
		"u4@example.com": {refusal},
	}}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, logger, nil)
	waiting, err := d.Drain(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := waiting, 0; got != want {
		t.Errorf("waiting = %d, want %d", got, want)
	}
	got, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 6, Sent: 5, Failed: 1}); got.Counts != want {
		t.Fatalf("counts = %+v, want %+v", got.Counts, want)
	}
	failed, _ := db.Messages(ctx, store.MessageFilter{State: carrierwatch.MessageFailed})
	if len(failed) != 1 || failed[0].UserID != "3" {
		t.Fatalf("failed messages = %+v, want u3's", failed)
	}
	// Five refusals of its own; one that fell in a streak with u4's
	// refusal counts as relay-wide and adds an attempt.
	if got := failed[0].Attempts; got < 5 || got > 6 {
		t.Errorf("refused message failed after %d attempts, want 5 (6 if one refusal fell in a streak with another message's)", got)
	}
	if want := "refused it 5 times"; !strings.Contains(failed[0].LastError, want) {
		t.Errorf("recorded error %q does not say %q", failed[0].LastError, want)
	}
	if want := "554 5.7.1 content rejected"; !strings.Contains(failed[0].LastError, want) {
		t.Errorf("recorded error %q does not contain the server's %q", failed[0].LastError, want)
	}
	if got, want := tr.sent["u4@example.com"], 1; got != want {
		t.Errorf("message refused once delivered %d times, want %d", got, want)
	}
	if out := logs.String(); !strings.Contains(out, "relay refuses messages") {
		t.Errorf("refusals not logged loudly:\n%s", out)
	}
}

func TestDispatcherRidesOutRelayRefusingEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStore(t)
	c := planN(t, db, 50)
	// Exchange's answer to MAIL FROM once the sending quota is used up.
	tr := &down{up: make(chan struct{}), err: refusedWhole("550 5.4.5 Daily user sending quota exceeded")}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond}, discard, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	time.Sleep(300 * time.Millisecond)
	tr.mu.Lock()
	calls := tr.calls
	tr.mu.Unlock()
	if calls >= 50 {
		t.Fatalf("%d attempts against a refusing relay in 300ms; want a pause, not a stampede", calls)
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Failed != 0 {
		t.Fatalf("relay refusing everything failed messages: %+v", got.Counts)
	}
	close(tr.up)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := db.Campaign(ctx, c.ID); got.Counts.Sent+got.Counts.Failed == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	got, _ := db.Campaign(context.Background(), c.ID)
	if want := (carrierwatch.MessageCounts{Total: 50, Sent: 50}); got.Counts != want {
		t.Fatalf("after the relay accepted again: %+v, want %+v", got.Counts, want)
	}
	for to, n := range tr.sent {
		if n != 1 {
			t.Errorf("%s delivered %d times", to, n)
		}
	}
}

func TestDispatcherGivesUpOnlyAfterEnoughAttempts(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 3)
	temp := deferredAll("451 4.7.1 greylisted")
	// Every message is older than GiveUpAfter from the start (a campaign
	// approved long after planning): u0 is greylisted twice, then
	// accepted; u1 is never accepted.
	tr := &script{fail: map[string][]error{
		"u0@example.com": {temp, temp},
		"u1@example.com": slices.Repeat([]error{temp}, 100),
	}}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		GiveUpAfter: time.Nanosecond, GiveUpAttempts: 8}, discard, nil)
	time.Sleep(2 * time.Millisecond)
	if _, err := d.Drain(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 3, Sent: 2, Failed: 1}); got.Counts != want {
		t.Fatalf("counts = %+v, want %+v", got.Counts, want)
	}
	failed, _ := db.Messages(ctx, store.MessageFilter{State: carrierwatch.MessageFailed})
	if len(failed) != 1 || failed[0].UserID != "1" {
		t.Fatalf("failed = %+v, want u1's message", failed)
	}
	if got, want := failed[0].Attempts, 8; got != want {
		t.Errorf("gave up after %d attempts, want %d", got, want)
	}
	if !strings.Contains(failed[0].LastError, "gave up") || !strings.Contains(failed[0].LastError, "451 4.7.1 greylisted") {
		t.Errorf("last error = %q, want gave up with the reply", failed[0].LastError)
	}
}

// flakyMarks is an outbox whose MarkSent fails a number of times first.
type flakyMarks struct {
	*store.DB
	mu    sync.Mutex
	fails int
}

func (f *flakyMarks) MarkSent(ctx context.Context, ids ...int64) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return errors.New("mark sent: database is locked")
	}
	return f.DB.MarkSent(ctx, ids...)
}

func TestDispatcherRetriesRecordingSentMails(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 5)
	tr := &script{}
	d := notifier.NewDispatcher(&flakyMarks{DB: db, fails: 3}, tr, render, notifier.DispatcherConfig{Workers: 2}, discard, nil)
	if _, err := d.Drain(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 5, Sent: 5}); got.Counts != want {
		t.Fatalf("counts = %+v, want %+v (delivered mails left unrecorded are sent again after a restart)", got.Counts, want)
	}
	if got, want := tr.calls, 5; got != want {
		t.Errorf("%d sends, want %d", got, want)
	}
}

// probe records the context of the send in progress and holds it until
// release is closed.
type probe struct {
	started chan struct{}
	release chan struct{}
	ctx     context.Context
	start   time.Time
	once    sync.Once
}

func (p *probe) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	p.once.Do(func() {
		p.ctx, p.start = ctx, time.Now()
		close(p.started)
	})
	<-p.release
	return answer(m, nil)
}

func TestDispatcherStopLeavesSendItsTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := openStore(t)
	planN(t, db, 3)
	tr := &probe{started: make(chan struct{}), release: make(chan struct{})}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 1}, discard, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	<-tr.started
	cancel()
	time.Sleep(20 * time.Millisecond)
	if err := tr.ctx.Err(); err != nil {
		t.Errorf("the send on the wire was cut off at stop: %v", err)
	}
	dl, ok := tr.ctx.Deadline()
	if !ok {
		t.Fatal("the send has no deadline")
	}
	// Below the daemon's 25 s shutdown grace, so the mail on the wire is
	// finished and recorded before the process ends.
	if got, want := dl.Sub(tr.start), notifier.DefaultSendTimeout; got > want || got < want-time.Second {
		t.Errorf("send deadline %v after its start, want %v", got, want)
	}
	if notifier.DefaultSendTimeout >= 25*time.Second {
		t.Errorf("default send timeout %v is not below the 25s shutdown grace", notifier.DefaultSendTimeout)
	}
	close(tr.release)
	<-done
}

func TestDrainCountsOnlyActiveCampaigns(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 2)
	// A campaign awaiting approval holds 4 messages that Drain cannot send.
	held, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, carrierwatch.CampaignAwaitingApproval)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for i := range 4 {
		msgs = append(msgs, carrierwatch.Message{CampaignID: held.ID, Kind: carrierwatch.KindPreparedness,
			UserID: fmt.Sprint("p", i), To: []string{fmt.Sprintf("p%d@example.com", i)}, MessageID: fmt.Sprint("p", i), Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	tr := &script{fail: map[string][]error{"u1@example.com": {deferredAll("451 later")}}}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 1, BaseBackoff: time.Hour, MaxBackoff: time.Hour}, discard, nil)
	waiting, err := d.Drain(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := waiting, 1; got != want {
		t.Errorf("waiting = %d, want %d (u1's retry, not the campaign awaiting approval)", got, want)
	}
	got, _ := db.Campaign(ctx, c.ID)
	if want := (carrierwatch.MessageCounts{Total: 2, Sent: 1, Pending: 1, Waiting: 1}); got.Counts != want {
		t.Errorf("counts = %+v, want %+v", got.Counts, want)
	}
}

// TestSmallCampaignOutlastsLongRefusal: a relay refusing everything for
// many pause cycles (a daily quota) must not use up the refusals of a
// small campaign's messages; they go out once it accepts again.
func TestSmallCampaignOutlastsLongRefusal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := openStore(t)
	c := planN(t, db, 4)
	tr := &down{up: make(chan struct{}), err: refusedWhole("550 5.4.5 Daily user sending quota exceeded")}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 2, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, discard, nil)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	// Far more than five refusals per message.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tr.mu.Lock()
		calls := tr.calls
		tr.mu.Unlock()
		if calls >= 40 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Failed != 0 {
		t.Fatalf("a long relay-wide refusal failed messages: %+v", got.Counts)
	}
	close(tr.up)
	for time.Now().Before(deadline) {
		if got, _ := db.Campaign(ctx, c.ID); got.Counts.Sent == 4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got, _ := db.Campaign(context.Background(), c.ID); got.Counts.Sent != 4 || got.Counts.Failed != 0 {
		t.Fatalf("after the quota: %+v, want all 4 sent", got.Counts)
	}
}

// attemptRecorder defers every mail twice and records the attempt number
// the dispatcher gave each try.
type attemptRecorder struct {
	mu       sync.Mutex
	attempts []int
}

func (h *attemptRecorder) Send(_ context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts = append(h.attempts, m.Attempt)
	if len(h.attempts) <= 2 {
		return answer(m, deferredAll("451 4.7.1 later"))
	}
	return answer(m, nil)
}

// TestDispatcherCountsAttempts: each try carries its attempt number (the
// SMTP transport holds a mail for a deferred recipient on the first ones).
func TestDispatcherCountsAttempts(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	planN(t, db, 1)
	tr := &attemptRecorder{}
	d := notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{Workers: 1, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}, discard, nil)
	if _, err := d.Drain(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := tr.attempts, []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("Mail.Attempt by try = %v, want %v", got, want)
	}
}

// partial accepts a mail for its last recipient and refuses the others.
type partial struct{}

func (partial) Send(_ context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	d := carrierwatch.Delivery{}
	for i, a := range m.To {
		r := carrierwatch.RecipientResult{Address: a, Verdict: carrierwatch.Refused, Reply: "550 5.1.1 <" + carrierwatch.MaskAddress(a) + ">: no such user"}
		if i == len(m.To)-1 {
			r.Verdict, r.Reply = carrierwatch.Accepted, "250 ok"
		}
		d.Recipients = append(d.Recipients, r)
	}
	return d, nil
}

// TestDispatcherPartialDelivery: a mail accepted for one recipient and
// refused for another is sent; the refused address is logged masked with
// the server's reply.
func TestDispatcherPartialDelivery(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	c := planN(t, db, 1)
	two := func(_ context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error) {
		mail, err := render(ctx, m)
		mail.To = []string{"taro.alt@example.net", "taro@example.ac.jp"}
		return mail, err
	}
	var logs syncBuffer
	d := notifier.NewDispatcher(db, partial{}, two, notifier.DispatcherConfig{Workers: 1}, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if _, err := d.Drain(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Sent != 1 {
		t.Fatalf("counts = %+v, want 1 sent", got.Counts)
	}
	out := logs.String()
	if !strings.Contains(out, "t***@example.net") || !strings.Contains(out, "550 5.1.1") {
		t.Errorf("log should name the refused recipient masked, with the reply:\n%s", out)
	}
	if strings.Contains(out, "taro.alt") {
		t.Errorf("log shows an address unmasked:\n%s", out)
	}
}
