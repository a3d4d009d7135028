// Package graphmail is a mail transport that sends each message through
// Microsoft Graph: POST /users/{sender}/sendMail with the MIME message
// (email.Build) base64-encoded as a text/plain body. It is plain net/http
// with a token source (msidentity), not the Graph SDK.
//
// Graph's limits for one mailbox are kept here: at most 4 requests in
// flight (MailboxConcurrency), 429 and 503 answers wait for their
// Retry-After and are tried again within the Send's time. Graph's answers
// become verdicts: 202 Accepted accepts the mail for every recipient, a
// throttled or failing service defers it, a mailbox or permission Graph
// refuses refuses the whole message (retried a few times, it may hold for
// every message), a bad message or recipient refuses it.
//
// sendMail with MIME saves a copy in the sender's Sent Items (the
// saveToSentItems parameter exists only for JSON messages), strips
// Auto-Submitted and keeps only custom headers that start with X- (at most
// five): see docs/exchange-online.md.
package graphmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/notifier"
)

// MaxInFlight is how many sendMail requests one mailbox takes at once.
const MaxInFlight = 4

// maxThrottleRetries bounds the 429/503 answers one Send waits out.
const maxThrottleRetries = 5

// TokenSource gives access tokens for Microsoft Graph
// (msidentity.TokenSource).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Config says where and as whom to send.
type Config struct {
	// Sender is the mailbox to send as: a user principal name or an
	// object id.
	Sender string
	// Endpoint is the Graph endpoint ("https://graph.microsoft.com", the
	// national cloud's, or an override).
	Endpoint string
	// Tokens gives tokens for the Graph scope (Endpoint + "/.default").
	Tokens TokenSource
	// HTTPClient sends the requests; nil is a client with a 60 s timeout.
	HTTPClient *http.Client
	// InFlight caps concurrent requests; 0 or more than MaxInFlight is
	// MaxInFlight.
	InFlight int
}

// Transport sends mails through Graph. It is safe for concurrent use.
type Transport struct {
	url    string // …/v1.0/users/{sender}/sendMail
	from   string
	tokens TokenSource
	client *http.Client
	slots  chan struct{}
	logger *slog.Logger
	sleep  func(ctx context.Context, d time.Duration) error
}

var _ notifier.Transport = (*Transport)(nil)

// New returns a Transport sending From: from (a header value; Graph sends
// as cfg.Sender and may rewrite a From it does not allow). A nil logger
// discards.
func New(cfg Config, from string, logger *slog.Logger) (*Transport, error) {
	if strings.TrimSpace(cfg.Sender) == "" {
		return nil, errors.New("graph mail transport: no sender mailbox")
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("graph mail transport: endpoint %q is not a URL", cfg.Endpoint)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("graph mail transport: no token source")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	n := cfg.InFlight
	if n <= 0 || n > MaxInFlight {
		n = MaxInFlight
	}
	base := strings.TrimSuffix(strings.TrimRight(cfg.Endpoint, "/"), "/v1.0")
	return &Transport{
		url:    base + "/v1.0/users/" + url.PathEscape(cfg.Sender) + "/sendMail",
		from:   from,
		tokens: cfg.Tokens,
		client: cfg.HTTPClient,
		slots:  make(chan struct{}, n),
		logger: logger,
		sleep:  sleepCtx,
	}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Send posts m to sendMail and reports Graph's verdict (see the package
// documentation). It waits out 429 and 503 answers as their Retry-After
// says while ctx allows; a throttle that outlasts ctx defers the mail.
// Errors are what gave no verdict: a message that cannot be built
// (permanent), a token that cannot be had, the network, ctx.
func (t *Transport) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	msg, err := email.Build(t.from, m)
	if err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Permanent: true, Err: err}
	}
	var raw bytes.Buffer
	if _, err := msg.WriteTo(&raw); err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("build mail %s: %w", m.MessageID, err)}
	}
	body := base64.StdEncoding.EncodeToString(raw.Bytes())
	for try := 0; ; try++ {
		status, reply, retryAfter, err := t.post(ctx, body)
		if err != nil {
			return carrierwatch.Delivery{}, &carrierwatch.SendError{Err: fmt.Errorf("send mail %s through graph: %w", m.MessageID, err)}
		}
		reply = carrierwatch.MaskAddressesIn(reply)
		switch {
		case status == http.StatusAccepted:
			return carrierwatch.Everyone(m.To, carrierwatch.Accepted, "202 Accepted"), nil
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			wait := retryAfter
			if wait <= 0 {
				wait = time.Duration(1<<min(try, 5)) * time.Second
			}
			dl, ok := ctx.Deadline()
			if try >= maxThrottleRetries || (ok && time.Until(dl) < wait) {
				return carrierwatch.Everyone(m.To, carrierwatch.Deferred, reply), nil
			}
			t.logger.Debug("graph throttles sendMail; waiting", "message_id", m.MessageID, "status", status, "retry_after", wait)
			if err := t.sleep(ctx, wait); err != nil {
				return carrierwatch.Everyone(m.To, carrierwatch.Deferred, reply), nil
			}
		default:
			return verdict(m.To, status, reply)
		}
	}
}

// verdict maps a Graph error answer to recipients' verdicts.
func verdict(to []string, status int, reply string) (carrierwatch.Delivery, error) {
	switch {
	case status == http.StatusUnauthorized:
		// The token: expired or revoked. Nothing about the message.
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Reply: reply, Err: errors.New("graph refused the access token")}
	case status == http.StatusForbidden || status == http.StatusNotFound:
		// The app may not send as the mailbox, or there is no such
		// mailbox: every message is refused until an admin fixes it.
		return carrierwatch.Everyone(to, carrierwatch.Refused, reply), nil
	case status == http.StatusBadRequest:
		// This message (its MIME, a recipient): not later either.
		d := carrierwatch.Everyone(to, carrierwatch.Refused, reply)
		d.Whole = false
		return d, nil
	case status >= 500 || status == http.StatusRequestTimeout:
		return carrierwatch.Everyone(to, carrierwatch.Deferred, reply), nil
	}
	return carrierwatch.Everyone(to, carrierwatch.Refused, reply), nil
}

// post sends one sendMail request and returns the status, the reply
// ("429 ApplicationThrottled: Application is over its MailboxConcurrency
// limit.") and the Retry-After.
func (t *Transport) post(ctx context.Context, body string) (status int, reply string, retryAfter time.Duration, err error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, "", 0, ctx.Err()
	}
	defer func() { <-t.slots }()
	token, err := t.tokens.Token(ctx)
	if err != nil {
		return 0, "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	reply = strconv.Itoa(resp.StatusCode)
	var ge struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(b, &ge) == nil && ge.Error.Code != "" {
		reply += " " + ge.Error.Code + ": " + ge.Error.Message
	} else if resp.StatusCode != http.StatusAccepted {
		reply += " " + http.StatusText(resp.StatusCode)
	}
	return resp.StatusCode, carrierwatch.OneLine(reply, 500), parseRetryAfter(resp.Header.Get("Retry-After")), nil
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}

// Close has nothing to release.
func (t *Transport) Close() error { return nil }
