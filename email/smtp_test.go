package email

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// Sender is what the notifier needs of a transport.
type sender interface {
	Send(context.Context, *carrierwatch.Mail) error
	Close() error
}

var (
	_ sender = (*SMTP)(nil)
	_ sender = (*File)(nil)
)

func newSMTP(t testing.TB, srv *smtptest.Server, cfg SMTPConfig, maxIdle int) *SMTP {
	t.Helper()
	cfg.Host, cfg.Port = hostPort(t, srv.Addr)
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := NewSMTP(cfg, testFrom, maxIdle, nil)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSMTPSendModes(t *testing.T) {
	serverTLS, pool := testCert(t)
	tests := []struct {
		name string
		opts smtptest.Options
		cfg  SMTPConfig
	}{
		{"plain", smtptest.Options{}, SMTPConfig{TLS: TLSNone}},
		{"starttls", smtptest.Options{TLSConfig: serverTLS}, SMTPConfig{TLS: TLSStartTLS, RootCAs: pool}},
		{"implicit tls", smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: true}, SMTPConfig{TLS: TLSImplicit, RootCAs: pool}},
		{"starttls auth plain", smtptest.Options{TLSConfig: serverTLS, AuthUser: "relay", AuthPass: "s3cret"},
			SMTPConfig{TLS: TLSStartTLS, RootCAs: pool, Username: "relay", Password: "s3cret", HELO: "carrierwatch.example.ac.jp"}},
		{"implicit tls auth plain", smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: true, AuthUser: "relay", AuthPass: "s3cret"},
			SMTPConfig{TLS: TLSImplicit, RootCAs: pool, Username: "relay", Password: "s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			s := newSMTP(t, srv, tt.cfg, 1)
			m := testMail(1)
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := srv.Messages()
			if got, want := len(msgs), 1; got != want {
				t.Fatalf("server has %d messages, want %d", got, want)
			}
			if got, want := msgs[0].From, "mfa-noreply@example.ac.jp"; got != want {
				t.Errorf("envelope from = %q, want %q", got, want)
			}
			if got, want := strings.Join(msgs[0].To, ","), strings.Join(m.To, ","); got != want {
				t.Errorf("envelope to = %q, want %q", got, want)
			}
			checkMessage(t, msgs[0].Data, m)
		})
	}
}

func TestSMTPConnectFailuresAreTemporary(t *testing.T) {
	serverTLS, pool := testCert(t)
	tests := []struct {
		name string
		opts smtptest.Options
		cfg  SMTPConfig
	}{
		{"untrusted certificate", smtptest.Options{TLSConfig: serverTLS}, SMTPConfig{TLS: TLSStartTLS}},
		{"starttls not offered", smtptest.Options{}, SMTPConfig{TLS: TLSStartTLS, RootCAs: pool}},
		{"implicit tls to a plain server", smtptest.Options{}, SMTPConfig{TLS: TLSImplicit, RootCAs: pool, Timeout: time.Second}},
		{"wrong password", smtptest.Options{TLSConfig: serverTLS, AuthUser: "relay", AuthPass: "s3cret"},
			SMTPConfig{TLS: TLSStartTLS, RootCAs: pool, Username: "relay", Password: "wrong"}},
		{"no credentials for a server that wants them", smtptest.Options{AuthUser: "relay", AuthPass: "s3cret"}, SMTPConfig{TLS: TLSNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			s := newSMTP(t, srv, tt.cfg, 1)
			err := s.Send(t.Context(), testMail(1))
			var se *carrierwatch.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SendError", err)
			}
			if tt.name == "no credentials for a server that wants them" {
				// The server answers MAIL with 5xx: that is the message's
				// permanent failure as far as SMTP tells.
				if !se.Permanent {
					t.Errorf("error = %v, want permanent", err)
				}
				return
			}
			if se.Permanent {
				t.Errorf("error = %v, want temporary", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error shows the password: %v", err)
			}
			if got := srv.Count(); got != 0 {
				t.Errorf("server accepted %d messages", got)
			}
		})
	}
}

func TestSMTPReusesConnections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Discard: true})
	s := newSMTP(t, srv, SMTPConfig{}, 2)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range 25 {
				if err := s.Send(t.Context(), testMail(g*100+i)); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := srv.Count(), 50; got != want {
		t.Errorf("server received %d messages, want %d", got, want)
	}
	if got := srv.Connections(); got > 2 {
		t.Errorf("%d connections for 50 mails from 2 goroutines, want at most 2", got)
	}
}

func TestSMTPWithoutIdleConnectionsClosesEach(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Discard: true})
	s := newSMTP(t, srv, SMTPConfig{}, 0)
	for i := range 3 {
		if err := s.Send(t.Context(), testMail(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := srv.Connections(), 3; got != want {
		t.Errorf("connections = %d, want %d", got, want)
	}
}

func TestSMTPReplies(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(*smtptest.Server)
		wantPermanent bool
		wantReply     string
	}{
		{"every recipient 451", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 451, "greylisted")
			s.RejectRcpt("taro.yamada@example.ac.jp", 451, "greylisted")
		}, false, "451"},
		{"every recipient 550", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 550, "<taro.alt@example.net>: no such user")
			s.RejectRcpt("taro.yamada@example.ac.jp", 550, "no such user")
		}, true, "550 5.0.0 <t***@example.net>: no such user"},
		{"one 550 and one 451", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 550, "no such user")
			s.RejectRcpt("taro.yamada@example.ac.jp", 451, "try later")
		}, false, "451"},
		{"data 451", func(s *smtptest.Server) { s.FailData(451, "local error", 1) }, false, "local error"},
		{"data 554", func(s *smtptest.Server) { s.FailData(554, "content rejected", 1) }, true, "content rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			s := newSMTP(t, srv, SMTPConfig{}, 1)
			tt.setup(srv)
			err := s.Send(t.Context(), testMail(1))
			var se *carrierwatch.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SendError", err)
			}
			if got, want := se.Permanent, tt.wantPermanent; got != want {
				t.Errorf("permanent = %v, want %v (%v)", got, want, err)
			}
			if got, want := carrierwatch.IsPermanent(err), tt.wantPermanent; got != want {
				t.Errorf("IsPermanent = %v, want %v", got, want)
			}
			if !strings.Contains(se.Reply, tt.wantReply) {
				t.Errorf("reply = %q, want it to contain %q", se.Reply, tt.wantReply)
			}
			if strings.Contains(err.Error(), "taro.") {
				t.Errorf("error shows an address unmasked: %v", err)
			}
			if got := srv.Count(); got != 0 {
				t.Errorf("server accepted %d messages", got)
			}
			// The connection stays usable for the next message.
			srv.RejectRcpt("taro.alt@example.net", 0, "")
			srv.RejectRcpt("taro.yamada@example.ac.jp", 0, "")
			if err := s.Send(t.Context(), testMail(2)); err != nil {
				t.Fatalf("send after a refusal: %v", err)
			}
			if got, want := srv.Connections(), 1; got != want {
				t.Errorf("connections = %d, want %d (reused after the refusal)", got, want)
			}
		})
	}
}

func TestSMTPSomeRecipientsRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	logger, logs := testLogger()
	host, port := hostPort(t, srv.Addr)
	s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone}, testFrom, 1, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv.RejectRcpt("taro.alt@example.net", 550, "<taro.alt@example.net> mailbox unavailable")

	m := testMail(1)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("send with one recipient of two refused: %v", err)
	}
	msgs := srv.Messages()
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("server has %d messages, want %d", got, want)
	}
	if got, want := strings.Join(msgs[0].To, ","), "taro.yamada@example.ac.jp"; got != want {
		t.Errorf("envelope to = %q, want %q", got, want)
	}
	checkMessage(t, msgs[0].Data, m) // the To header still names both
	out := logs.String()
	if !strings.Contains(out, "t***@example.net") || !strings.Contains(out, "550") {
		t.Errorf("log should name the refused recipient masked, with the reply:\n%s", out)
	}
	if strings.Contains(out, "taro.alt") {
		t.Errorf("log shows an address unmasked:\n%s", out)
	}
}

func TestSMTPServerGoneAndBack(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{Timeout: 2 * time.Second}, 2)
	if err := s.Send(t.Context(), testMail(1)); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	err := s.Send(t.Context(), testMail(2))
	var se *carrierwatch.SendError
	if !errors.As(err, &se) || se.Permanent {
		t.Fatalf("send to a stopped server: %v, want a temporary *SendError", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), testMail(3)); err != nil {
		t.Fatalf("send after the server came back: %v", err)
	}
	// An idle connection that the server dropped is replaced without an error.
	if err := s.Send(t.Context(), testMail(4)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), testMail(5)); err != nil {
		t.Fatalf("send on a pooled connection the server had closed: %v", err)
	}
	if got, want := srv.Count(), 4; got != want {
		t.Errorf("server received %d messages, want %d", got, want)
	}
}

func TestSMTPHeaderInjection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)

	m := testMail(1)
	m.To = m.To[:1]
	m.Subject = "Hello\r\nBcc: evil@example.com\r\nX-Evil: 1\n\nbody"
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server has %d messages", len(msgs))
	}
	if got, want := strings.Join(msgs[0].To, ","), m.To[0]; got != want {
		t.Errorf("envelope to = %q, want %q", got, want)
	}
	p := parseMessage(t, msgs[0].Data)
	for _, h := range []string{"Bcc", "X-Evil"} {
		if v := p.header.Get(h); v != "" {
			t.Errorf("injected header %s: %q", h, v)
		}
	}
	if got, want := p.subject, "Hello Bcc: evil@example.com X-Evil: 1 body"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}

	bad := []func(*carrierwatch.Mail){
		func(m *carrierwatch.Mail) { m.To = []string{"a@example.org\r\nBcc: evil@example.com"} },
		func(m *carrierwatch.Mail) { m.MessageID = "x@y\r\nBcc: evil@example.com" },
		func(m *carrierwatch.Mail) { m.Segment = "app\r\nX-Evil: 1" },
		func(m *carrierwatch.Mail) { m.Kind = "outage\nX-Evil: 1" },
	}
	for i, mutate := range bad {
		m := testMail(10 + i)
		mutate(m)
		err := s.Send(t.Context(), m)
		if !carrierwatch.IsPermanent(err) || !errors.Is(err, ErrInvalidMail) {
			t.Errorf("case %d: error = %v, want a permanent ErrInvalidMail", i, err)
		}
	}
	if got, want := srv.Count(), 1; got != want {
		t.Errorf("server received %d messages, want %d", got, want)
	}
}

func TestSMTPCancelledContext(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Send(ctx, testMail(1))
	if err == nil || carrierwatch.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want a temporary error wrapping context.Canceled", err)
	}
}

func TestSMTPClose(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)
	if err := s.Send(t.Context(), testMail(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.Send(t.Context(), testMail(2))
	if err == nil || carrierwatch.IsPermanent(err) {
		t.Errorf("send after Close: %v, want a temporary error", err)
	}
}

func TestNewSMTPRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     SMTPConfig
		from    string
		maxIdle int
	}{
		{"no host", SMTPConfig{}, testFrom, 1},
		{"bad tls", SMTPConfig{Host: "localhost", TLS: "ssl"}, testFrom, 1},
		{"bad from", SMTPConfig{Host: "localhost"}, "not an address", 1},
		{"from with newline", SMTPConfig{Host: "localhost"}, "a@example.org\r\nBcc: b@example.org", 1},
		{"negative idle", SMTPConfig{Host: "localhost"}, testFrom, -1},
		{"bad port", SMTPConfig{Host: "localhost", Port: 70000}, testFrom, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSMTP(tt.cfg, tt.from, tt.maxIdle, nil); err == nil {
				t.Error("NewSMTP accepted it")
			}
		})
	}
}

func BenchmarkSMTPSend(b *testing.B) {
	srv := smtptest.Start(b, smtptest.Options{Discard: true})
	s := newSMTP(b, srv, SMTPConfig{}, 2)
	m := testMail(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(srv.Connections()), "conns")
}
