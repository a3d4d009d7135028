package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/carrierwatch/carrierwatch"
)

// Transport delivers one rendered mail and reports the verdict on each
// recipient (accepted, deferred or refused, with the server's reply). An
// error means no verdict was given (the server could not be reached, a
// timeout); it is temporary unless carrierwatch.IsPermanent says otherwise
// (a mail that cannot be built). Implementations must be safe for
// concurrent use.
type Transport interface {
	Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error)
}

// RenderFunc turns an outbox message into a mail.
type RenderFunc func(ctx context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error)

// Outbox is what the Dispatcher needs of the database.
type Outbox interface {
	ClaimMessages(ctx context.Context, limit int) ([]*carrierwatch.Message, error)
	MarkSent(ctx context.Context, ids ...int64) error
	// MarkRetry puts a message back to pending, due at next, with the
	// error and the count of relay refusals of the whole message.
	MarkRetry(ctx context.Context, id int64, next time.Time, errText string, refusals int) error
	// Release hands back a claimed message that was never put on the
	// wire, due at at, without counting the claim as an attempt.
	Release(ctx context.Context, id int64, at time.Time) error
	MarkFailed(ctx context.Context, id int64, errText string) error
	NextDue(ctx context.Context) (time.Time, bool, error)
}

// Observer is told about each delivery attempt (metrics). It may be nil.
type Observer interface {
	Delivered(kind carrierwatch.Kind, latency time.Duration)
	Failed(kind carrierwatch.Kind, permanent bool)
}

// DispatcherConfig tunes sending.
type DispatcherConfig struct {
	Workers       int     // parallel sends (mail.concurrency)
	RatePerSecond float64 // global limit; 0 = none
	// RatePerMinute is a second global limit, for relays that count per
	// minute (Exchange Online: 30); 0 = none.
	RatePerMinute float64
	// DailyLimit caps the mails sent in any rolling 24 hours, counted
	// from the outbox's sent rows (so it holds across restarts); 0 = none.
	// At the limit sending pauses until the oldest of them is 24 hours
	// old. It needs an Outbox that can count (the store).
	DailyLimit  int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// GiveUpAfter and GiveUpAttempts say when a message that keeps
	// failing temporarily is marked failed ("gave up"): once it has had at
	// least GiveUpAttempts attempts (default 20) and was planned more than
	// GiveUpAfter ago (default 48h). Both must hold, so a campaign approved
	// long after it was planned still gets its retries.
	GiveUpAfter    time.Duration
	GiveUpAttempts int
	// SendTimeout bounds one delivery (default 20s: one SMTP transaction
	// of a ~6 KB mail, with a dial, TLS and login, has ample time). A send
	// in progress when the daemon stops is allowed to finish within it, so
	// it must stay below the daemon's shutdown grace (25s): a send cut off
	// there would be sent again after the restart.
	SendTimeout time.Duration
}

// DefaultSendTimeout is DispatcherConfig.SendTimeout when it is zero.
const DefaultSendTimeout = 20 * time.Second

// maxRefusals is how many times the relay may refuse a message as a whole
// (a 5xx to MAIL FROM or DATA) before the message is marked failed: often
// enough to ride out a relay-wide refusal such as a sending quota, few
// enough that a message a content filter rejects is not retried for days.
const maxRefusals = 5

// markSentPatience is how long the committer keeps retrying to record
// delivered messages before it gives up (they are then sent again after a
// restart).
const markSentPatience = 30 * time.Second

// Dispatcher sends the outbox. Create it with NewDispatcher; Run and Drain
// must not be called concurrently with each other.
type Dispatcher struct {
	out       Outbox
	transport Transport
	render    RenderFunc
	cfg       DispatcherConfig
	limiter   *rate.Limiter
	perMinute *rate.Limiter // nil: no per-minute limit
	logger    *slog.Logger
	observer  Observer
	now       func() time.Time
	wake      chan struct{}

	mu          sync.Mutex
	consecutive int       // consecutive temporary failures, for the pause
	pausedUntil time.Time // no claims before this (relay down)
	// refusalStreak counts relay refusals since the last delivery, and
	// refusedIDs the messages they hit: several messages refused in a row
	// mean the relay refuses everything (a quota), which must not use up
	// each message's own refusals.
	refusalStreak int
	refusedIDs    map[int64]bool
	stats         Progress
	// inFlight counts claimed messages not yet finished, for the daily
	// limit: they may all be sent.
	inFlight int
	// limitUntil is when the daily limit lets sending resume; zero when
	// not at the limit.
	limitUntil time.Time
}

// Progress counts what the dispatcher did since it started.
type Progress struct {
	Sent, Failed, Retried int
}

// NewDispatcher returns a dispatcher. observer may be nil.
func NewDispatcher(out Outbox, t Transport, render RenderFunc, cfg DispatcherConfig, logger *slog.Logger, observer Observer) *Dispatcher {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 15 * time.Minute
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 48 * time.Hour
	}
	if cfg.GiveUpAttempts <= 0 {
		cfg.GiveUpAttempts = 20
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if cfg.RatePerSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), max(1, int(cfg.RatePerSecond)))
	}
	d := &Dispatcher{out: out, transport: t, render: render, cfg: cfg, limiter: lim, logger: logger,
		observer: observer, now: time.Now, wake: make(chan struct{}, 1)}
	if cfg.RatePerMinute > 0 {
		d.perMinute = rate.NewLimiter(rate.Limit(cfg.RatePerMinute/60), 1)
	}
	return d
}

// SetClock replaces the clock (tests).
func (d *Dispatcher) SetClock(now func() time.Time) { d.now = now }

// Wake tells a running dispatcher that new messages were planned.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Progress returns the counts so far.
func (d *Dispatcher) Progress() Progress {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Run sends until ctx is done, sleeping until new messages are planned
// (Wake) or a retry is due.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		if _, err := d.drainOnce(ctx); err != nil && ctx.Err() == nil {
			d.logger.Error("sending stopped for a moment", "err", err)
		}
		wait := 30 * time.Second
		if next, ok, err := d.out.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(d.now()), 50*time.Millisecond))
		}
		if p := d.holdAt().Sub(d.now()); p > 0 {
			wait = max(wait, p)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Drain sends every sendable message. If wait is positive it also waits
// for retries that fall due within wait. It returns how many messages of
// active campaigns remain unsent because they are waiting for a retry (or
// for a pause to end); messages of campaigns awaiting approval do not
// count.
func (d *Dispatcher) Drain(ctx context.Context, wait time.Duration) (waiting int, err error) {
	deadline := d.now().Add(wait)
	for {
		if _, err := d.drainOnce(ctx); err != nil {
			return 0, err
		}
		next, ok, err := d.out.NextDue(ctx)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, nil
		}
		at := next
		if p := d.holdAt(); p.After(at) {
			at = p
		}
		if at.After(deadline) {
			c, err := d.countPending(ctx)
			return c, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(max(at.Sub(d.now()), 10*time.Millisecond)):
		}
	}
}

// outboxCounter is an Outbox that can also count the messages of active
// campaigns, the ones it may send (the store can); progress logs and
// Drain's result use it when it is there.
type outboxCounter interface {
	ActiveOutboxCounts(ctx context.Context) (carrierwatch.MessageCounts, error)
}

// countPending counts the unsent messages of active campaigns; without a
// counter it says 1, "something may be left".
func (d *Dispatcher) countPending(ctx context.Context) (int, error) {
	if c, ok := d.out.(outboxCounter); ok {
		n, err := c.ActiveOutboxCounts(ctx)
		return n.Pending, err
	}
	return 1, nil
}

func (d *Dispatcher) pausedAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pausedUntil
}

// holdAt is when sending may go on: the end of a pause or of the daily
// limit's hold, whichever is later.
func (d *Dispatcher) holdAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.limitUntil.After(d.pausedUntil) {
		return d.limitUntil
	}
	return d.pausedUntil
}

// sentCounter is an Outbox that can count recent deliveries (the store
// can); the daily limit needs it.
type sentCounter interface {
	// SentWindow returns how many messages were sent at or after since, and
	// when the oldest of them was.
	SentWindow(ctx context.Context, since time.Time) (n int, oldest time.Time, err error)
}

// LimitObserver is an Observer that is also told when a sending limit
// pauses sending (until is zero when it ends); metrics implement it.
type LimitObserver interface {
	LimitReached(limit string, until time.Time)
}

// dailyRoom returns how many messages may be claimed under the daily
// limit, at most want: the limit less what was sent in the last 24 hours
// and what is claimed and not finished. The claimed count is read before
// the sent count: a message recorded sent in between is then counted
// twice (too little room, never too much), whereas read the other way
// round it could be counted in neither and the limit overshot. While
// claimed messages are still on the wire, no room is not yet the limit:
// it returns 0 with busy set, and the caller waits for them. At the limit
// it pauses sending until the oldest sent message of the window is 24
// hours old, and says so once in the log.
func (d *Dispatcher) dailyRoom(ctx context.Context, want int) (room int, busy bool, err error) {
	c, ok := d.out.(sentCounter)
	if !ok {
		return 0, false, errors.New("mail.daily_limit needs an outbox that counts sent messages")
	}
	now := d.now()
	d.mu.Lock()
	inFlight := d.inFlight
	d.mu.Unlock()
	sent, oldest, err := c.SentWindow(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return 0, false, err
	}
	room = d.cfg.DailyLimit - sent - inFlight
	if room <= 0 && inFlight > 0 {
		return 0, true, nil
	}
	d.mu.Lock()
	wasLimited := !d.limitUntil.IsZero()
	if room > 0 {
		d.limitUntil = time.Time{}
		d.mu.Unlock()
		if wasLimited {
			d.logger.Info("daily mail limit: sending resumes", "daily_limit", d.cfg.DailyLimit, "sent_last_24h", sent)
			d.observeLimit(time.Time{})
		}
		return min(room, want), false, nil
	}
	until := oldest.Add(24 * time.Hour)
	if !until.After(now) {
		until = now.Add(time.Minute) // the window moved meanwhile: look again soon
	}
	d.limitUntil = until
	d.mu.Unlock()
	if !wasLimited {
		d.logger.Warn("daily mail limit reached; sending paused, resumes by itself", "daily_limit", d.cfg.DailyLimit,
			"sent_last_24h", sent, "resumes_at", until.Format(time.RFC3339))
		d.observeLimit(until)
	}
	return 0, false, nil
}

func (d *Dispatcher) observeLimit(until time.Time) {
	if lo, ok := d.observer.(LimitObserver); ok {
		lo.LimitReached("daily", until)
	}
}

// LimitedUntil returns when the daily limit lets sending resume; zero
// when sending is not held by it.
func (d *Dispatcher) LimitedUntil() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.limitUntil
}

func (d *Dispatcher) pauseLeft() time.Duration {
	return d.pausedAt().Sub(d.now())
}

// drainOnce claims and sends until nothing is claimable now, the relay
// looks down, or ctx is done. One goroutine claims batches while the
// workers send, so no worker waits for a batch's slowest message.
func (d *Dispatcher) drainOnce(ctx context.Context) (int, error) {
	jobs := make(chan *carrierwatch.Message, d.cfg.Workers*4)
	marks := make(chan markReq)
	var wg sync.WaitGroup
	var committer sync.WaitGroup
	committer.Add(1)
	go func() {
		defer committer.Done()
		d.commitSent(marks)
	}()
	for range d.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				if ctx.Err() != nil || d.pauseLeft() > 0 {
					// Not on the wire: hand it back, attempt not counted.
					d.requeue(m, d.pausedAt())
				} else {
					d.deliver(ctx, m, marks)
				}
				d.mu.Lock()
				d.inFlight--
				d.mu.Unlock()
			}
		}()
	}
	claimed := 0
	var err error
	batch := d.cfg.Workers * 8
	lastLog := time.Now()
	for ctx.Err() == nil && d.pauseLeft() <= 0 {
		n := batch
		if d.cfg.DailyLimit > 0 {
			var busy bool
			if n, busy, err = d.dailyRoom(ctx, batch); err != nil {
				break
			}
			if busy {
				// The last room is on the wire: whether the limit is
				// reached depends on how it ends.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			if n == 0 {
				break
			}
		}
		var msgs []*carrierwatch.Message
		msgs, err = d.out.ClaimMessages(ctx, n)
		if err != nil || len(msgs) == 0 {
			break
		}
		claimed += len(msgs)
		d.mu.Lock()
		d.inFlight += len(msgs)
		d.mu.Unlock()
		for _, m := range msgs {
			jobs <- m
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			d.logProgress(ctx)
		}
	}
	close(jobs)
	wg.Wait()
	close(marks)
	committer.Wait()
	if claimed > 0 {
		d.logProgress(ctx)
	}
	return claimed, err
}

// logProgress logs what was sent so far and what the outbox still holds.
func (d *Dispatcher) logProgress(ctx context.Context) {
	p := d.Progress()
	attrs := []any{"sent", p.Sent, "failed", p.Failed, "retried", p.Retried}
	if c, ok := d.out.(outboxCounter); ok {
		if n, err := c.ActiveOutboxCounts(ctx); err == nil {
			attrs = append(attrs, "outbox_pending", n.Pending-n.Waiting, "outbox_waiting_retry", n.Waiting, "outbox_total", n.Total)
		}
	}
	d.logger.Info("sending progress", attrs...)
}

// markReq asks the committer to record a delivered message; done is
// closed once it is recorded.
type markReq struct {
	id   int64
	done chan struct{}
}

// commitSent records deliveries in group commits: every worker waits for
// its message to be recorded before it sends the next one, so at most one
// delivered-but-unrecorded message per worker exists at any time (the
// duplicates a crash can cause), while concurrent workers share one
// transaction.
func (d *Dispatcher) commitSent(marks <-chan markReq) {
	for first := range marks {
		batch := []markReq{first}
	more:
		for len(batch) < 256 {
			select {
			case r, ok := <-marks:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		ids := make([]int64, len(batch))
		for i, r := range batch {
			ids[i] = r.id
		}
		d.markSent(ids)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// markSent records delivered messages, retrying with a short backoff for
// up to markSentPatience (MarkSent is idempotent): a message left sending
// is sent again after a restart. The workers whose messages these are wait
// meanwhile, so no more unrecorded deliveries pile up.
func (d *Dispatcher) markSent(ids []int64) {
	ctx := context.Background()
	giveUp := time.Now().Add(markSentPatience)
	for attempt := 1; ; attempt++ {
		wait := backoff(100*time.Millisecond, 2*time.Second, attempt)
		err := d.out.MarkSent(ctx, ids...)
		if err == nil {
			if attempt > 1 {
				d.logger.Info("sent mails recorded after retrying", "messages", len(ids), "attempts", attempt)
			}
			return
		}
		if time.Now().Add(wait).After(giveUp) {
			d.logger.Error("mails sent but not recorded; they may be sent again after a restart", "messages", len(ids), "attempts", attempt, "err", err)
			return
		}
		d.logger.Warn("could not record sent mails; retrying", "messages", len(ids), "attempt", attempt, "retry_in", wait, "err", err)
		time.Sleep(wait)
	}
}

// requeue hands a claimed message that was never put on the wire back to
// the outbox, due at at (now when zero), and takes back the attempt its
// claim counted: it is not "waiting for retry" and its backoff does not
// grow.
func (d *Dispatcher) requeue(m *carrierwatch.Message, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if at.IsZero() {
		at = d.now()
	}
	if err := d.out.Release(ctx, m.ID, at); err != nil {
		d.logger.Error("could not hand a message back to the outbox; it is retried after a restart", "message_id", m.ID, "err", err)
	}
}

func (d *Dispatcher) deliver(ctx context.Context, m *carrierwatch.Message, marks chan<- markReq) {
	if err := d.limiter.Wait(ctx); err != nil {
		d.requeue(m, time.Time{})
		return
	}
	if d.perMinute != nil {
		if err := d.perMinute.Wait(ctx); err != nil {
			d.requeue(m, time.Time{})
			return
		}
	}
	if d.pauseLeft() > 0 {
		d.requeue(m, d.pausedAt())
		return
	}
	// The send and its bookkeeping outlive ctx: a message on the wire when
	// the daemon stops is finished within SendTimeout (less than the
	// shutdown grace) and recorded, so it is not sent twice.
	bg := context.WithoutCancel(ctx)
	mail, err := d.render(bg, m)
	if err != nil {
		d.fail(bg, m, fmt.Sprintf("render: %v", err), true)
		return
	}
	mail.Attempt = m.Attempts
	sctx, cancel := context.WithTimeout(bg, d.cfg.SendTimeout)
	start := time.Now()
	del, err := d.transport.Send(sctx, mail)
	cancel()
	switch {
	case err != nil && carrierwatch.IsPermanent(err):
		d.fail(bg, m, err.Error(), true)
	case err != nil:
		d.retry(bg, m, false, err.Error())
	case del.Count(carrierwatch.Accepted) > 0:
		if del.Count(carrierwatch.Accepted) < len(del.Recipients) {
			// A recipient that refuses or defers does not get this
			// message: holding it back for everyone else would delay
			// them all (the transport holds it on first attempts when
			// it can).
			d.logger.Warn("recipients refused, message sent to the others", "message_id", m.ID,
				"refused", maskedAddresses(del, carrierwatch.Refused), "deferred", maskedAddresses(del, carrierwatch.Deferred),
				"reply", carrierwatch.MaskAddressesIn(del.Replies(carrierwatch.Refused)+del.Replies(carrierwatch.Deferred)))
		}
		done := make(chan struct{})
		marks <- markReq{id: m.ID, done: done}
		<-done
		d.mu.Lock()
		d.consecutive = 0
		d.refusalStreak, d.refusedIDs = 0, nil
		d.stats.Sent++
		d.mu.Unlock()
		if d.observer != nil {
			d.observer.Delivered(m.Kind, time.Since(start))
		}
	case del.Count(carrierwatch.Deferred) > 0:
		d.retry(bg, m, false, fmt.Sprintf("%d of %d recipients deferred, server said %q", del.Count(carrierwatch.Deferred), len(del.Recipients), verdictReplies(del)))
	case del.Whole:
		// Refused as a whole (a 5xx to MAIL FROM or DATA, a quota, a
		// content filter): may hold for every message.
		d.retry(bg, m, true, fmt.Sprintf("message refused by the relay, server said %q", del.Replies(carrierwatch.Refused)))
	default:
		d.fail(bg, m, fmt.Sprintf("every recipient refused, server said %q", del.Replies(carrierwatch.Refused)), true)
	}
}

// verdictReplies joins the replies of the refused and deferred recipients.
func verdictReplies(del carrierwatch.Delivery) string {
	r, f := del.Replies(carrierwatch.Refused), del.Replies(carrierwatch.Deferred)
	if r != "" && f != "" {
		return r + "; " + f
	}
	return r + f
}

// maskedAddresses lists the masked addresses of the recipients with
// verdict v.
func maskedAddresses(del carrierwatch.Delivery, v carrierwatch.Verdict) []string {
	var out []string
	for _, r := range del.Recipients {
		if r.Verdict == v {
			out = append(out, carrierwatch.MaskAddress(r.Address))
		}
	}
	return out
}

// retry handles a failure that is not permanent: a temporary one, or (with
// refused) a refusal of the whole message by the relay, which may hold for
// every message, such as a sending quota. Both count towards the pause of
// all sending, so a failing or refusing relay is not hammered. The message
// is retried with backoff, unless the relay has refused it maxRefusals
// times or it has had GiveUpAttempts attempts and is older than
// GiveUpAfter.
func (d *Dispatcher) retry(ctx context.Context, m *carrierwatch.Message, refused bool, errText string) {
	refusals := m.Refusals
	errText = carrierwatch.MaskAddressesIn(errText)

	d.mu.Lock()
	relayWide := false
	if refused {
		d.refusalStreak++
		if d.refusedIDs == nil {
			d.refusedIDs = map[int64]bool{}
		}
		d.refusedIDs[m.ID] = true
		relayWide = d.refusalStreak >= relayWideRefusals && len(d.refusedIDs) >= 2
		if !relayWide {
			refusals++
		}
	}
	d.consecutive++
	n := d.consecutive
	delay := backoff(d.cfg.BaseBackoff, d.cfg.MaxBackoff, m.Attempts)
	if n >= d.cfg.Workers {
		pause := backoff(d.cfg.BaseBackoff, d.cfg.MaxBackoff, n/d.cfg.Workers)
		if until := d.now().Add(pause); until.After(d.pausedUntil) {
			d.pausedUntil = until
			d.logger.Warn("mail relay failing; pausing all sending", "pause", pause.Round(time.Second), "consecutive_failures", n, "err", errText)
		}
	}
	if left := d.pausedUntil.Sub(d.now()); left > 0 {
		// Behind the messages handed back for the pause (due when it
		// ends): while the relay fails or refuses everything, the
		// failures rotate through the outbox instead of hitting the same
		// few messages until they give up.
		delay += left
	}
	d.mu.Unlock()
	if refused {
		// Loud: a relay that refuses every message (a quota, a sender it
		// no longer accepts) needs an admin.
		d.logger.Error("relay refuses messages", "message_id", m.ID, "refusals", refusals, "max_refusals", maxRefusals,
			"relay_wide", relayWide, "err", errText)
	}

	age := d.now().Sub(m.CreatedAt)
	switch {
	case refused && refusals >= maxRefusals:
		d.fail(ctx, m, fmt.Sprintf("relay refused it %d times: %s", refusals, errText), true)
		return
	case m.Attempts >= d.cfg.GiveUpAttempts && !m.CreatedAt.IsZero() && age > d.cfg.GiveUpAfter:
		d.fail(ctx, m, fmt.Sprintf("gave up after %d attempts in %s of temporary failures: %s", m.Attempts, age.Round(time.Minute), errText), false)
		return
	}
	d.mu.Lock()
	d.stats.Retried++
	d.mu.Unlock()
	if d.observer != nil {
		d.observer.Failed(m.Kind, false)
	}
	d.logger.Info("temporary send failure; will retry", "message_id", m.ID, "attempt", m.Attempts, "retry_in", delay.Round(time.Second), "err", errText)
	if err := d.out.MarkRetry(ctx, m.ID, d.now().Add(delay), errText, refusals); err != nil {
		d.logger.Error("could not record a retry", "message_id", m.ID, "err", err)
	}
}

// relayWideRefusals is how many refusals in a row, of at least two
// messages, mean the relay refuses everything; those do not count towards
// a message's maxRefusals, so a quota that lasts hours fails nothing.
const relayWideRefusals = 3

func (d *Dispatcher) fail(ctx context.Context, m *carrierwatch.Message, reason string, permanent bool) {
	d.mu.Lock()
	d.stats.Failed++
	d.mu.Unlock()
	if d.observer != nil {
		d.observer.Failed(m.Kind, permanent)
	}
	reason = carrierwatch.MaskAddressesIn(reason)
	d.logger.Warn("message failed permanently; not retried", "message_id", m.ID, "user_id", m.UserID, "kind", m.Kind, "reason", reason)
	if err := d.out.MarkFailed(ctx, m.ID, reason); err != nil {
		d.logger.Error("could not record a failure", "message_id", m.ID, "err", err)
	}
}

// backoff is the one retry delay of the dispatcher (a message's next
// attempt, the pause of all sending, recording sent mails): exponential,
// capped, with jitter: between half and all of min(base·2^(n-1), max).
func backoff(base, maxDelay time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	// Full jitter, but never less than half, so retries do not stampede
	// and still wait.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
