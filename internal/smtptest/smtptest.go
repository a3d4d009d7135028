package smtptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a Server. The zero value is a plain SMTP server without
// authentication that keeps every message.
type Options struct {
	// TLSConfig, when set, offers STARTTLS, or wraps every connection in
	// TLS when ImplicitTLS is true.
	TLSConfig *tls.Config
	// ImplicitTLS makes the listener speak TLS from the first byte (the
	// "smtps" style); it needs TLSConfig.
	ImplicitTLS bool
	// AuthUser and AuthPass, when AuthUser is set, offer AUTH PLAIN and
	// refuse MAIL before a successful authentication. Without TLS the
	// mechanism is offered on the plain connection too.
	AuthUser, AuthPass string
	// XOAUTH2, when set, offers AUTH XOAUTH2 and refuses MAIL before a
	// successful authentication: it is called with the user and the
	// bearer token a client presents and refuses them with an error (a
	// wrong or expired token), which the client sees as Exchange Online's
	// "535 5.7.3 Authentication unsuccessful".
	XOAUTH2 func(user, token string) error
	// Discard counts messages without keeping their bodies, for benchmarks.
	Discard bool
}

// Message is one message the server accepted.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // accepted envelope recipients, in RCPT order
	Data []byte   // the message as received, without the final dot
	// Header is Data's header, parsed; nil when Data could not be parsed.
	Header mail.Header
}

type rejection struct {
	code int
	msg  string
}

// Server is an in-process SMTP server. Its methods are safe for concurrent
// use.
type Server struct {
	// Addr is the host:port the server listens on, on 127.0.0.1. It stays
	// the same across Stop and Restart.
	Addr string

	opts Options

	mu          sync.Mutex
	srv         *smtp.Server
	ln          net.Listener
	msgs        []Message
	count       int
	conns       int
	rejects     map[string]rejection
	failDataN   int
	failDataErr rejection
	done        chan struct{} // closed when the current Serve returns
}

// Start starts a server on 127.0.0.1:0 and stops it when the test ends. It
// fails the test if the server cannot start.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := StartServer(opts)
	if err != nil {
		tb.Fatalf("start smtp test server: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartServer starts a server on 127.0.0.1:0. The caller stops it with
// Close (or Stop).
func StartServer(opts Options) (*Server, error) {
	if opts.ImplicitTLS && opts.TLSConfig == nil {
		return nil, errors.New("start smtp test server: implicit TLS needs a TLS config")
	}
	s := &Server{opts: opts, rejects: make(map[string]rejection)}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start smtp test server: %w", err)
	}
	return s, nil
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var l net.Listener = &countingListener{Listener: ln, s: s}
	if s.opts.ImplicitTLS {
		l = tls.NewListener(l, s.opts.TLSConfig)
	}
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "localhost"
	srv.TLSConfig = s.opts.TLSConfig
	srv.AllowInsecureAuth = s.opts.TLSConfig == nil
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})

	s.mu.Lock()
	if a := ln.Addr().String(); s.Addr != a { // unchanged on Restart: tests read Addr freely
		s.Addr = a
	}
	s.srv = srv
	s.ln = l
	s.done = done
	s.mu.Unlock()

	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	return nil
}

// Close stops the server; it returns nil when it was already stopped.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	// Serve registers its listener only once it runs: close it here too so a
	// Close right after the start cannot leave Serve blocked in Accept.
	_ = ln.Close()
	<-done
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

// Stop closes the listener and every open connection at once, like a
// server that goes away. Messages and counters are kept.
func (s *Server) Stop() { _ = s.Close() }

// Restart starts the server again on the same address after Stop.
func (s *Server) Restart() error {
	_ = s.Close()
	s.mu.Lock()
	addr := s.Addr
	s.mu.Unlock()
	var err error
	for range 50 { // the port may need a moment to be free again
		if err = s.listen(addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("restart smtp test server on %s: %w", addr, err)
}

// Messages returns a copy of the messages accepted so far (none with
// Options.Discard).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// Count returns how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Connections returns how many connections the server has accepted since it
// first started.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// RejectRcpt makes every later RCPT TO for addr (compared without case)
// fail with code and msg, e.g. 550 or 451. A code of 0 removes the rule.
func (s *Server) RejectRcpt(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(addr)
	if code == 0 {
		delete(s.rejects, key)
		return
	}
	s.rejects[key] = rejection{code: code, msg: msg}
}

// FailData makes the next n messages fail with code and msg after their
// content was received (the reply to the final dot).
func (s *Server) FailData(code int, msg string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failDataN = n
	s.failDataErr = rejection{code: code, msg: msg}
}

// WaitCount waits until at least n messages were accepted, and reports
// whether they were before timeout.
func (s *Server) WaitCount(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if s.Count() >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func smtpError(r rejection) *smtp.SMTPError {
	return &smtp.SMTPError{Code: r.code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: r.msg}
}

type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

type backend struct{ s *Server }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s}, nil
}

// session is one SMTP session; go-smtp calls it from one goroutine.
type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	var mechs []string
	if ss.s.opts.AuthUser != "" {
		mechs = append(mechs, sasl.Plain)
	}
	if ss.s.opts.XOAUTH2 != nil {
		mechs = append(mechs, XOAUTH2)
	}
	return mechs
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech == XOAUTH2 && ss.s.opts.XOAUTH2 != nil {
		return &xoauth2Server{check: func(user, token string) error {
			if err := ss.s.opts.XOAUTH2(user, token); err != nil {
				return err
			}
			ss.authed = true
			return nil
		}}, nil
	}
	if ss.s.opts.AuthUser == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.s.opts.AuthUser || pass != ss.s.opts.AuthPass || (identity != "" && identity != user) {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if (ss.s.opts.AuthUser != "" || ss.s.opts.XOAUTH2 != nil) && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	r, ok := ss.s.rejects[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if ok {
		return smtpError(r)
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var data []byte
	var err error
	if ss.s.opts.Discard {
		_, err = io.Copy(io.Discard, r)
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return err
	}

	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.failDataN > 0 {
		ss.s.failDataN--
		return smtpError(ss.s.failDataErr)
	}
	ss.s.count++
	if ss.s.opts.Discard {
		return nil
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: data}
	if pm, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		m.Header = pm.Header
	}
	ss.s.msgs = append(ss.s.msgs, m)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }
