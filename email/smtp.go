package email

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"slices"
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
//
// When the server offers PIPELINING (RFC 2920) a Send writes MAIL FROM,
// every RCPT TO and DATA at once and then reads their replies in order;
// otherwise it waits for each reply in turn.
type SMTP struct {
	host    string
	opts    []mail.Option // the dial, TLS and AUTH settings but the timeout
	dialer  *mail.Client  // opts with the configured timeout
	from    fromParts
	timeout time.Duration
	maxIdle int
	logger  *slog.Logger

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

// conn is an open SMTP connection and what its server offered.
type conn struct {
	c          *smtp.Client
	pipelining bool
	// mailParams follow the sender in MAIL FROM, as go-mail adds them.
	mailParams string
}

// NewSMTP returns an SMTP transport sending From: from (a header value such
// as "IT Help <mfa-noreply@example.ac.jp>"; its address is the envelope
// sender). maxIdle is how many connections it keeps open between sends (0:
// close each after use). A nil logger discards.
func NewSMTP(cfg SMTPConfig, from string, maxIdle int, logger *slog.Logger) (*SMTP, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	snd, err := parseFrom(from)
	if err != nil {
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
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	opts = slices.Clip(opts)
	dialer, err := mail.NewClient(cfg.Host, append(opts, mail.WithTimeout(cfg.Timeout))...)
	if err != nil {
		// go-mail's option errors name no secret.
		return nil, fmt.Errorf("new smtp transport: %w", err)
	}
	return &SMTP{host: cfg.Host, opts: opts, dialer: dialer, from: snd, timeout: cfg.Timeout, maxIdle: maxIdle, logger: logger}, nil
}

// Send delivers m to all of m.To in one message. It returns nil when the
// server accepted the message for at least one recipient: recipients
// refused, with 4xx or 5xx, are logged (masked) and dropped. Otherwise it
// returns a *carrierwatch.SendError:
//   - Permanent when every recipient was refused with 5xx, or the mail
//     cannot be built;
//   - Refused (not Permanent) for a 5xx reply to MAIL FROM, to DATA or to
//     the end of the content: the relay refuses the message as a whole,
//     which may hold for every message (a sending quota) or for this one
//     (a content filter), so the caller decides how often to retry;
//   - temporary for every recipient refused and at least one with 4xx,
//     any other 4xx reply, a connection, TLS or AUTH failure, a timeout,
//     or a cancelled ctx.
//
// ctx bounds the dial; its deadline, when sooner than the configured
// timeout, bounds the whole Send: the greeting, STARTTLS and AUTH of a new
// connection as well as the transaction.
func (s *SMTP) Send(ctx context.Context, m *carrierwatch.Mail) error {
	w := getWire()
	defer putWire(w)
	if err := compose(w, &s.from, m); err != nil {
		return &carrierwatch.SendError{Permanent: true, Err: err}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", m.MessageID, err)}
		}
		cn, reused, err := s.get(ctx)
		if err != nil {
			// Nothing about the message is wrong when the server cannot
			// be reached or refuses our TLS or credentials: retry later.
			se := classify(m.MessageID, "connect to smtp server", err)
			se.Refused = false
			return se
		}
		res := s.transact(ctx, cn, m.MessageID, w, m.HoldForDeferred)
		if res.usable {
			s.put(cn)
		} else {
			_ = cn.c.Close()
		}
		if res.stale && reused && attempt == 0 {
			// An idle connection the server had closed: try once on a
			// fresh one.
			s.logger.Debug("smtp idle connection was closed by the server, redialling", "message_id", m.MessageID)
			continue
		}
		if len(res.refused) > 0 && res.err == nil {
			// A recipient refused with 4xx does not get this message:
			// holding it back for everyone else would delay them all.
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
	refused      []string // recipients refused while others were accepted
	refusedReply string
}

// transact runs one mail transaction on cn. With pipelining, MAIL FROM,
// every RCPT TO and DATA go out in one write and their replies are read in
// order; without it, each command waits for its reply and DATA is sent
// only when it is wanted. Either way the outcome is the same: refused
// recipients (4xx or 5xx) are dropped when another was accepted; when none
// was, the message is not sent.
func (s *SMTP) transact(ctx context.Context, cn *conn, id string, w *wire, holdForDeferred bool) result {
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	c := cn.c
	if err := c.UpdateDeadline(timeout); err != nil {
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %w", id, err)}}
	}
	// The connection is this Send's alone: its text stream is used
	// directly, which is what go-mail exports it for.
	text := c.Text
	bw := text.W
	rcpts := w.rcpts

	_, _ = bw.WriteString("MAIL FROM:")
	_, _ = bw.WriteString(s.from.envelope)
	_, _ = bw.WriteString(cn.mailParams)
	_, _ = bw.WriteString("\r\n")
	if cn.pipelining {
		for _, rcpt := range rcpts {
			writeCmd(bw, "RCPT TO:", rcpt)
		}
		_, _ = bw.WriteString("DATA\r\n")
	}
	if err := bw.Flush(); err != nil {
		return result{err: classify(id, "MAIL FROM", err), stale: true}
	}
	// pending counts the pipelined replies not read yet.
	pending := 0
	if cn.pipelining {
		pending = len(rcpts) + 1
	}

	if _, _, err := text.ReadResponse(250); err != nil {
		res := result{err: classify(id, "MAIL FROM", err)}
		res.stale = !isReply(err)
		if !res.stale {
			res.usable = skipReplies(text, pending) && c.Reset() == nil
		}
		return res
	}

	accepted := 0
	var refused, refusedReplies []string
	tempRefusal := false // a recipient was refused with 4xx
	for _, rcpt := range rcpts {
		if cn.pipelining {
			pending--
		} else {
			writeCmd(bw, "RCPT TO:", rcpt)
			if err := bw.Flush(); err != nil {
				return result{err: classify(id, "RCPT TO", err)}
			}
		}
		_, _, err := text.ReadResponse(25)
		if err == nil {
			accepted++
			continue
		}
		if !isReply(err) {
			return result{err: classify(id, "RCPT TO", err)} // connection lost
		}
		refused = append(refused, rcpt)
		refusedReplies = append(refusedReplies, reply(err))
		if replyCode(err) < 500 {
			tempRefusal = true
		}
	}
	refusedReply := strings.Join(refusedReplies, "; ")
	if accepted > 0 && tempRefusal && holdForDeferred {
		// Not yet: try again later for every recipient, the deferred one
		// included. A pipelined DATA may already have been invited; the
		// only way to decline it is to hang up.
		usable := skipReplies(text, pending) && c.Reset() == nil
		err := fmt.Errorf("send mail %s: %d of %d recipients deferred; holding the message for them", id, len(refused), len(rcpts))
		return result{usable: usable, err: &carrierwatch.SendError{Reply: refusedReply, Err: err}}
	}
	if accepted == 0 {
		// A pipelined DATA is answered with an error here; a server that
		// invites the content anyway can only be told no by hanging up.
		usable := skipReplies(text, pending) && c.Reset() == nil
		err := fmt.Errorf("send mail %s: %d of %d recipients refused", id, len(refused), len(rcpts))
		return result{usable: usable, err: &carrierwatch.SendError{
			// Permanent only when nobody can get it, ever; a 4xx
			// recipient may accept it later.
			Permanent: !tempRefusal,
			Reply:     refusedReply,
			Err:       err,
		}}
	}

	if !cn.pipelining {
		_, _ = bw.WriteString("DATA\r\n")
		if err := bw.Flush(); err != nil {
			return result{err: classify(id, "DATA", err)}
		}
	}
	if _, _, err := text.ReadResponse(354); err != nil {
		res := result{err: classify(id, "DATA", err)}
		if isReply(err) {
			res.usable = c.Reset() == nil
		}
		return res
	}
	if err := writeData(bw, w.data); err != nil {
		// The dot may not have gone out: the connection is in an unknown
		// state.
		return result{err: &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: write content: %w", id, err)}}
	}
	if _, _, err := text.ReadResponse(250); err != nil {
		return result{usable: isReply(err), err: classify(id, "end of DATA", err)}
	}
	return result{usable: true, refused: refused, refusedReply: refusedReply}
}

func writeCmd(bw *bufio.Writer, verb, arg string) {
	_, _ = bw.WriteString(verb)
	_, _ = bw.WriteString(arg)
	_, _ = bw.WriteString("\r\n")
}

// dataEnd ends the content of DATA.
const dataEnd = ".\r\n"

// writeData writes the message content data (CRLF line ends, ending in
// CRLF) and the final dot, and flushes. It doubles the dot of every line
// that starts with one (RFC 5321 section 4.5.2): whole runs of lines go to
// the buffered writer at once, not byte by byte, and a message without such
// lines goes out in one write.
func writeData(bw *bufio.Writer, data []byte) error {
	// Base64 bodies have no dot at all: looking for dots, not line
	// starts, skips over them at memory speed.
	for pos := 0; ; {
		j := bytes.IndexByte(data[pos:], '.')
		if j < 0 {
			break
		}
		i := pos + j
		if i > 0 && data[i-1] != '\n' {
			pos = i + 1
			continue
		}
		_, _ = bw.Write(data[:i])
		_ = bw.WriteByte('.')
		data, pos = data[i:], 1 // data[0] is the dot just doubled
	}
	// The end goes into data's spare room (compose leaves it) so that
	// the rest and the dot are one write: bufio hands a write larger
	// than its buffer straight to the connection.
	_, _ = bw.Write(append(data, dataEnd...))
	return bw.Flush()
}

// isReply reports whether err is an SMTP reply (not an I/O error) other
// than 421, after which the server closes the connection.
func isReply(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) && tp.Code != 421
}

// replyCode is the reply code in err, or 0.
func replyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	return 0
}

// skipReplies reads n pipelined replies whose content no longer matters,
// the last of them DATA's. It reports whether the connection is still in
// step: every reply read, none a 421, DATA's not a 354 that waits for
// content.
func skipReplies(text *textproto.Conn, n int) bool {
	for i := range n {
		code, _, err := text.ReadResponse(0)
		if err != nil || code == 421 || (i == n-1 && code == 354) {
			return false
		}
	}
	return true
}

// classify turns the error of a command that concerns the whole message
// (MAIL FROM, DATA, the end of the content) into a SendError: a 5xx reply
// is a refusal by the relay (Refused, not Permanent), everything else (4xx,
// I/O errors, timeouts) temporary. A reply goes into Reply with addresses
// masked (servers quote addresses), and is not repeated in Err.
func classify(id, stage string, err error) *carrierwatch.SendError {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &carrierwatch.SendError{
			Refused: tp.Code >= 500 && tp.Code < 600,
			Reply:   reply(err),
			Err:     fmt.Errorf("send mail %s: %s refused with %03d", id, stage, tp.Code),
		}
	}
	return &carrierwatch.SendError{Err: fmt.Errorf("send mail %s: %s: %w", id, stage, err)}
}

// reply is the server's reply in err ("550 5.1.1 no such user"), with
// e-mail addresses masked, or "".
func reply(err error) string {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return carrierwatch.MaskAddressesIn(oneLine(fmt.Sprintf("%03d %s", tp.Code, tp.Msg), 500))
	}
	return ""
}

// get returns an idle connection, or dials a new one.
func (s *SMTP) get(ctx context.Context) (cn *conn, reused bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, errors.New("smtp transport closed")
	}
	if n := len(s.idle); n > 0 {
		cn = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return cn, true, nil
	}
	s.mu.Unlock()
	dialer := s.dialer
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.timeout {
		// go-mail bounds the greeting, STARTTLS and AUTH by its timeout,
		// not by ctx: a dialer with the time ctx leaves keeps the whole
		// Send within ctx's deadline (the dispatcher's send timeout, which
		// the shutdown grace relies on).
		d, err := mail.NewClient(s.host, append(s.opts, mail.WithTimeout(max(time.Until(dl), time.Millisecond)))...)
		if err != nil {
			return nil, false, err
		}
		dialer = d
	}
	c, err := dialer.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, false, err
	}
	cn = &conn{c: c}
	cn.pipelining, _ = c.Extension("PIPELINING")
	// What go-mail's Mail adds; the message itself is 7-bit.
	if ok, _ := c.Extension("8BITMIME"); ok {
		cn.mailParams += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		cn.mailParams += " SMTPUTF8"
	}
	s.logger.Debug("smtp connection opened", "server", s.dialer.ServerAddr(), "pipelining", cn.pipelining)
	return cn, false, nil
}

// put keeps cn for reuse, or says goodbye when the pool is full or closed.
func (s *SMTP) put(cn *conn) {
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.maxIdle {
		s.idle = append(s.idle, cn)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	quit(cn.c)
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
	for _, cn := range idle {
		quit(cn.c)
	}
	return nil
}

var _ io.Closer = (*SMTP)(nil)
