package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"slices"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which must be offered
	TLSImplicit = "tls"      // TLS from the first byte ("smtps")
	TLSNone     = "none"     // no encryption
)

// DefaultTimeout bounds each SMTP dial and each transaction when
// SMTPConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// TLS is "starttls" (the default when empty), "tls" or "none".
	TLS string
	// Username and Password, when Username is set, authenticate with the
	// best mechanism the server offers (PLAIN and LOGIN only over TLS).
	Username, Password string
	// OAuth2, when set, authenticates with SASL XOAUTH2 (Exchange
	// Online's OAuth 2.0 SMTP AUTH) as Username, with a token from it
	// fetched for each new connection; Password is not used. The token is
	// never logged or put into an error.
	OAuth2 TokenSource
	// Timeout bounds each dial and each transaction; DefaultTimeout when 0.
	Timeout time.Duration
	// HELO is the name sent in EHLO; the machine's host name when empty.
	HELO string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
	// RootCAs verify the server certificate; the system's when nil.
	RootCAs *x509.CertPool
}

// TokenSource gives OAuth 2.0 access tokens (msidentity.TokenSource).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// SMTP is a transport that delivers over SMTP through go-mail's client. It
// dials a connection when none is idle, keeps up to maxIdle of them open
// after use and reuses them for the next messages; a connection that fails
// is closed and replaced on next use. It is safe for concurrent use: each
// Send uses a connection of its own, so the number of open connections
// follows the number of concurrent Sends.
type SMTP struct {
	host    string
	opts    []mail.Option // the dial, TLS and AUTH settings but the timeout
	dialer  *mail.Client  // opts with the configured timeout
	from    string        // the From header value
	timeout time.Duration
	maxIdle int
	logger  *slog.Logger
	// tokens and user, for XOAUTH2: each dial gets a client with the
	// current token.
	tokens TokenSource
	user   string

	mu     sync.Mutex
	idle   []*smtp.Client
	closed bool
}

// holdDeferredAttempts: on attempts before this one, a mail one of whose
// recipients defers it (4xx) while another accepts is not sent yet, so
// that the deferred address, perhaps the only one a locked-out user can
// read, gets it with the others on a later attempt. From this attempt on
// it goes to those who accept.
const holdDeferredAttempts = 3

// NewSMTP returns an SMTP transport sending From: from (a header value such
// as "IT Help <mfa-noreply@example.ac.jp>"; its address is the envelope
// sender). maxIdle is how many connections it keeps open between sends (0:
// close each after use). A nil logger discards.
func NewSMTP(cfg SMTPConfig, from string, maxIdle int, logger *slog.Logger) (*SMTP, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkAddress("from", from); err != nil {
		return nil, fmt.Errorf("new smtp transport: %w", err)
	}
	if cfg.Host == "" {
		return nil, errors.New("new smtp transport: empty host")
	}
	if maxIdle < 0 {
		return nil, fmt.Errorf("new smtp transport: negative idle connection count %d", maxIdle)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	tlsConf := &tls.Config{
		ServerName:         cfg.Host,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // an explicit, documented test setting
		MinVersion:         tls.VersionTLS12,
	}
	opts := []mail.Option{mail.WithTLSConfig(tlsConf)}
	port := cfg.Port
	switch cfg.TLS {
	case TLSStartTLS, "":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		if port == 0 {
			port = 25
		}
	default:
		return nil, fmt.Errorf("new smtp transport: tls %q: want starttls, tls or none", cfg.TLS)
	}
	opts = append(opts, mail.WithPort(port))
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	switch {
	case cfg.OAuth2 != nil && cfg.Username == "":
		return nil, errors.New("new smtp transport: XOAUTH2 needs the mailbox as username")
	case cfg.OAuth2 != nil:
		// The token is added for each dial (see get).
	case cfg.Username != "":
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	opts = slices.Clip(opts)
	dialer, err := mail.NewClient(cfg.Host, append(opts, mail.WithTimeout(cfg.Timeout))...)
	if err != nil {
		// go-mail's option errors name no secret.
		return nil, fmt.Errorf("new smtp transport: %w", err)
	}
	s := &SMTP{host: cfg.Host, opts: opts, dialer: dialer, from: from, timeout: cfg.Timeout, maxIdle: maxIdle, logger: logger}
	if cfg.OAuth2 != nil {
		s.tokens, s.user = cfg.OAuth2, cfg.Username
	}
	return s, nil
}

// Send delivers m to all of m.To in one message and reports the verdict on
// each recipient: a 2xx to RCPT TO and to the content is Accepted, a 4xx
// Deferred, a 5xx Refused, each with the server's reply (addresses
// masked). Recipients refused while others accept do not hold the message
// back; a deferred one does on the first attempts (see
// holdDeferredAttempts), and then the accepted recipients are reported
// Deferred too. A reply to MAIL FROM, to DATA or to the end of the content
// concerns the whole message (Delivery.Whole).
//
// It returns an error when the server gave no verdict: a *SendError,
// Permanent when the mail cannot be built, otherwise temporary (a
// connection, TLS or AUTH failure, a timeout, a cancelled ctx).
//
// ctx bounds the dial; its deadline, when sooner than the configured
// timeout, bounds the whole Send: the greeting, STARTTLS and AUTH of a new
// connection as well as the transaction.
func (s *SMTP) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	msg, err := Build(s.from, m)
	if err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Permanent: true, Err: err}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return carrierwatch.Delivery{}, &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}
		}
		c, reused, err := s.get(ctx)
		if err != nil {
			// Nothing about the message is wrong when the server cannot
			// be reached or refuses our TLS or credentials: retry later.
			return carrierwatch.Delivery{}, &carrierwatch.SendError{Reply: reply(err), Err: fmt.Errorf("send mail %s: connect to smtp server: %w", m.MessageID, err)}
		}
		res := s.transact(ctx, c, m, msg)
		if res.usable {
			s.put(c)
		} else {
			_ = c.Close()
		}
		if res.stale && reused && attempt == 0 {
			// An idle connection the server had closed: try once on a
			// fresh one.
			s.logger.Debug("smtp idle connection was closed by the server, redialling", "message_id", m.MessageID)
			continue
		}
		return res.delivery, res.err
	}
}

// result is the outcome of one SMTP transaction.
type result struct {
	delivery carrierwatch.Delivery
	err      error
	usable   bool // the connection can carry another transaction
	stale    bool // the first command found the connection dead
}

// transact runs one mail transaction on c: MAIL FROM, RCPT TO for each
// recipient, and DATA when the message is to go.
func (s *SMTP) transact(ctx context.Context, c *smtp.Client, m *carrierwatch.Mail, msg *mail.Msg) result {
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	if err := c.UpdateDeadline(timeout); err != nil {
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}}
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return result{usable: true, err: &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}}
	}
	// Build put m.To into the To header in order: these are m.To's
	// addresses.
	rcpts, err := msg.GetRecipients()
	if err != nil || len(rcpts) != len(m.To) {
		return result{usable: true, err: &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("send mail %s: recipients: %v", m.MessageID, err)}}
	}
	whole := func(stage string, err error) result {
		if !isReply(err) {
			return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %s: %w", m.MessageID, stage, err)}}
		}
		return result{usable: c.Reset() == nil, delivery: carrierwatch.Everyone(m.To, verdict(err), reply(err))}
	}
	if err := c.Mail(from); err != nil {
		res := whole("MAIL FROM", err)
		res.stale = !isReply(err)
		return res
	}
	d := carrierwatch.Delivery{Recipients: make([]carrierwatch.RecipientResult, len(m.To))}
	for i, rcpt := range rcpts {
		r := &d.Recipients[i]
		r.Address = m.To[i]
		if err := c.Rcpt(rcpt); err != nil {
			if !isReply(err) {
				return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: RCPT TO: %w", m.MessageID, err)}}
			}
			r.Verdict, r.Reply = verdict(err), reply(err)
			continue
		}
		r.Verdict = carrierwatch.Accepted
	}
	accepted, deferred := d.Count(carrierwatch.Accepted), d.Count(carrierwatch.Deferred)
	hold := accepted > 0 && deferred > 0 && m.Attempt > 0 && m.Attempt < holdDeferredAttempts
	if accepted == 0 || hold {
		if hold {
			why := fmt.Sprintf("not sent yet: held for %d deferred recipient(s) (%s)", deferred, d.Replies(carrierwatch.Deferred))
			for i := range d.Recipients {
				if r := &d.Recipients[i]; r.Verdict == carrierwatch.Accepted {
					r.Verdict, r.Reply = carrierwatch.Deferred, why
				}
			}
		}
		return result{usable: c.Reset() == nil, delivery: d}
	}
	w, err := c.Data()
	if err != nil {
		return dataVerdict(whole("DATA", err), d)
	}
	if _, err := msg.WriteTo(w); err != nil {
		// The content may be cut short: the connection is in an unknown
		// state.
		_ = w.Close()
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: write content: %w", m.MessageID, err)}}
	}
	if err := w.Close(); err != nil {
		if !isReply(err) {
			return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: end of DATA: %w", m.MessageID, err)}}
		}
		return dataVerdict(result{usable: true, delivery: carrierwatch.Everyone(m.To, verdict(err), reply(err))}, d)
	}
	return result{usable: true, delivery: d}
}

// dataVerdict applies a verdict on the whole message, given at DATA or at
// its end, to the recipients RCPT TO had accepted; the others keep their
// own.
func dataVerdict(res result, rcpt carrierwatch.Delivery) result {
	if res.err != nil || len(res.delivery.Recipients) == 0 {
		return res
	}
	v := res.delivery.Recipients[0]
	for i := range rcpt.Recipients {
		if r := &rcpt.Recipients[i]; r.Verdict == carrierwatch.Accepted {
			r.Verdict, r.Reply = v.Verdict, v.Reply
		}
	}
	rcpt.Whole = true
	res.delivery = rcpt
	return res
}

// isReply reports whether err is an SMTP reply (not an I/O error) other
// than 421, after which the server closes the connection.
func isReply(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) && tp.Code != 421
}

// verdict is what an SMTP error reply means for its recipients: 5xx
// refused, anything else (4xx, 421) deferred.
func verdict(err error) carrierwatch.Verdict {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 && tp.Code < 600 {
		return carrierwatch.Refused
	}
	return carrierwatch.Deferred
}

// reply is the server's reply in err ("550 5.1.1 no such user"), with
// e-mail addresses masked, or "".
func reply(err error) string {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return carrierwatch.MaskAddressesIn(carrierwatch.OneLine(fmt.Sprintf("%03d %s", tp.Code, tp.Msg), 500))
	}
	return ""
}

// get returns an idle connection, or dials a new one.
func (s *SMTP) get(ctx context.Context) (c *smtp.Client, reused bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, errors.New("smtp transport closed")
	}
	if n := len(s.idle); n > 0 {
		c = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, true, nil
	}
	s.mu.Unlock()
	dialer := s.dialer
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		// go-mail bounds the greeting, STARTTLS and AUTH by its timeout,
		// not by ctx: a dialer with the time ctx leaves keeps the whole
		// Send within ctx's deadline (the dispatcher's send timeout, which
		// the shutdown grace relies on).
		timeout = max(time.Until(dl), time.Millisecond)
	}
	if timeout != s.timeout || s.tokens != nil {
		opts := append(s.opts, mail.WithTimeout(timeout))
		if s.tokens != nil {
			token, err := s.tokens.Token(ctx)
			if err != nil {
				return nil, false, err
			}
			opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2), mail.WithUsername(s.user), mail.WithPassword(token))
		}
		d, err := mail.NewClient(s.host, opts...)
		if err != nil {
			return nil, false, err
		}
		dialer = d
	}
	c, err = dialer.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, false, err
	}
	s.logger.Debug("smtp connection opened", "server", s.dialer.ServerAddr())
	return c, false, nil
}

// put keeps c for reuse, or says goodbye when the pool is full or closed.
func (s *SMTP) put(c *smtp.Client) {
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.maxIdle {
		s.idle = append(s.idle, c)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	quit(c)
}

func quit(c *smtp.Client) {
	_ = c.UpdateDeadline(2 * time.Second)
	if err := c.Quit(); err != nil {
		_ = c.Close()
	}
}

// Close says goodbye on the idle connections; connections in use are
// closed when their Send ends. Later Sends fail with a temporary error.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		quit(c)
	}
	return nil
}

var _ notifier.Transport = (*SMTP)(nil)
