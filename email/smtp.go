package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/carrierwatch/carrierwatch"
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
	// Timeout bounds each dial and each transaction; DefaultTimeout when 0.
	Timeout time.Duration
	// HELO is the name sent in EHLO; the machine's host name when empty.
	HELO string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
	// RootCAs verify the server certificate; the system's when nil.
	RootCAs *x509.CertPool
}

// SMTP is a transport that delivers over SMTP. It dials a connection when
// none is idle, keeps up to maxIdle of them open after use and reuses them
// for the next messages; a connection that fails is closed and replaced on
// next use. It is safe for concurrent use: each Send uses a connection of
// its own, so the number of open connections follows the number of
// concurrent Sends.
type SMTP struct {
	dialer  *mail.Client // holds the dial, TLS and AUTH settings
	from    string
	timeout time.Duration
	maxIdle int
	logger  *slog.Logger

	mu     sync.Mutex
	idle   []*smtp.Client
	closed bool
}

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
	opts := []mail.Option{mail.WithTimeout(cfg.Timeout), mail.WithTLSConfig(tlsConf)}
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
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	dialer, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		// go-mail's option errors name no secret.
		return nil, fmt.Errorf("new smtp transport: %w", err)
	}
	return &SMTP{dialer: dialer, from: from, timeout: cfg.Timeout, maxIdle: maxIdle, logger: logger}, nil
}

// Send delivers m to all of m.To in one message. It returns nil when the
// server accepted the message for at least one recipient: recipients
// refused with 5xx are logged (masked) and dropped. Otherwise it returns a
// *carrierwatch.SendError: permanent for a 5xx reply (every recipient
// refused, the sender or the content refused) or a mail that cannot be
// built; temporary for a 4xx reply, any recipient refused with 4xx (the
// whole message is left for a retry), a connection, TLS or AUTH failure, a
// timeout, or a cancelled ctx.
//
// ctx bounds the dial; its deadline, when sooner than the configured
// timeout, also bounds the transaction.
func (s *SMTP) Send(ctx context.Context, m *carrierwatch.Mail) error {
	msg, err := Build(s.from, m)
	if err != nil {
		return &carrierwatch.SendError{Permanent: true, Err: err}
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}
		}
		c, reused, err := s.get(ctx)
		if err != nil {
			// Nothing about the message is wrong when the server cannot
			// be reached or refuses our TLS or credentials: retry later.
			se := classify(m.MessageID, "connect to smtp server", err)
			se.Permanent = false
			return se
		}
		res := s.transact(ctx, c, msg, from, rcpts)
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
		if len(res.refused) > 0 && res.err == nil {
			s.logger.Warn("smtp recipients refused, message sent to the others",
				"message_id", m.MessageID, "refused", maskAddresses(res.refused), "reply", res.refusedReply)
		}
		if res.err != nil {
			return res.err
		}
		return nil
	}
}

// result is the outcome of one SMTP transaction.
type result struct {
	err          error
	usable       bool     // the connection can carry another transaction
	stale        bool     // the first command found the connection dead
	refused      []string // recipients refused with 5xx while others were accepted
	refusedReply string
}

func (s *SMTP) transact(ctx context.Context, c *smtp.Client, msg *mail.Msg, from string, rcpts []string) result {
	id := strings.Trim(msg.GetMessageID(), "<>")
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	if err := c.UpdateDeadline(timeout); err != nil {
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", id, err)}}
	}

	if err := c.Mail(from); err != nil {
		res := s.fail(c, id, "MAIL FROM", err)
		var tp *textproto.Error
		res.stale = !errors.As(err, &tp) || tp.Code == 421
		return res
	}

	var accepted, refused, refusedReplies []string
	tempRefusal := false
	for _, rcpt := range rcpts {
		err := c.Rcpt(rcpt)
		if err == nil {
			accepted = append(accepted, rcpt)
			continue
		}
		var tp *textproto.Error
		if !errors.As(err, &tp) || tp.Code == 421 {
			return s.fail(c, id, "RCPT TO", err) // connection lost
		}
		refused = append(refused, rcpt)
		refusedReplies = append(refusedReplies, reply(err))
		if tp.Code < 500 {
			tempRefusal = true
		}
	}
	refusedReply := strings.Join(refusedReplies, "; ")
	if len(accepted) == 0 || tempRefusal {
		usable := c.Reset() == nil
		err := fmt.Errorf("send mail %s: %d of %d recipients refused", id, len(refused), len(rcpts))
		return result{usable: usable, err: &carrierwatch.SendError{
			// Permanent only when nobody can get it, ever.
			Permanent: len(accepted) == 0 && !tempRefusal,
			Reply:     refusedReply,
			Err:       err,
		}}
	}

	w, err := c.Data()
	if err != nil {
		return s.fail(c, id, "DATA", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		// The dot was never sent: the connection is in an unknown state.
		_ = w.Close()
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: write content: %w", id, err)}}
	}
	if err := w.Close(); err != nil {
		var tp *textproto.Error
		res := result{usable: errors.As(err, &tp) && tp.Code != 421, err: classify(id, "end of DATA", err)}
		return res
	}
	return result{usable: true, refused: refused, refusedReply: refusedReply}
}

// fail classifies err from a command and says whether the connection is
// still usable: after a reply it is, once RSET succeeds; after an I/O error
// or a 421 it is not.
func (s *SMTP) fail(c *smtp.Client, id, stage string, err error) result {
	res := result{err: classify(id, stage, err)}
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code != 421 {
		res.usable = c.Reset() == nil
	}
	return res
}

// classify turns a command's error into a SendError: a 5xx reply is
// permanent, everything else (4xx, I/O errors, timeouts) temporary. A
// reply goes into Reply with addresses masked (servers quote the refused
// address), and is not repeated in Err.
func classify(id, stage string, err error) *carrierwatch.SendError {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &carrierwatch.SendError{
			Permanent: tp.Code >= 500 && tp.Code < 600,
			Reply:     reply(err),
			Err:       fmt.Errorf("send mail %s: %s refused with %03d", id, stage, tp.Code),
		}
	}
	return &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %s: %w", id, stage, err)}
}

// reply is the server's reply in err ("550 5.1.1 no such user"), with
// e-mail addresses masked, or "".
func reply(err error) string {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return maskAddressesIn(oneLine(fmt.Sprintf("%03d %s", tp.Code, tp.Msg), 500))
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
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, true, nil
	}
	s.mu.Unlock()
	c, err = s.dialer.DialToSMTPClientWithContext(ctx)
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

var _ io.Closer = (*SMTP)(nil)
