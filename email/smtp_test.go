package email

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// send sends m and fails the test on an error.
func send(t testing.TB, s *SMTP, m *carrierwatch.Mail) carrierwatch.Delivery {
	t.Helper()
	d, err := s.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("send %s: %v", m.MessageID, err)
	}
	return d
}

// verdicts lists the verdict on each recipient, in order, with ",".
func verdicts(d carrierwatch.Delivery) string {
	var out []string
	for _, r := range d.Recipients {
		out = append(out, string(r.Verdict))
	}
	return strings.Join(out, ",")
}

// delivered sends m and fails the test unless every recipient accepted it.
func delivered(t testing.TB, s *SMTP, m *carrierwatch.Mail) {
	t.Helper()
	d := send(t, s, m)
	if got, want := d.Count(carrierwatch.Accepted), len(m.To); got != want {
		t.Fatalf("send %s: %d of %d recipients accepted: %+v", m.MessageID, got, want, d)
	}
}

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
			delivered(t, s, m)
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
			d, err := s.Send(t.Context(), testMail(1))
			if tt.name == "no credentials for a server that wants them" {
				// The server answers MAIL with 5xx: the relay refuses
				// the message as a whole, which may hold for every
				// message and is no reason to fail this one.
				if err != nil || !d.Whole || verdicts(d) != "refused,refused" {
					t.Errorf("delivery = %+v, %v; want the whole message refused", d, err)
				}
				return
			}
			var se *carrierwatch.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SendError", err)
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
				if _, err := s.Send(t.Context(), testMail(g*100+i)); err != nil {
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
		delivered(t, s, testMail(i))
	}
	if got, want := srv.Connections(), 3; got != want {
		t.Errorf("connections = %d, want %d", got, want)
	}
}

func TestSMTPReplies(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*smtptest.Server)
		wantVerdicts string // alt, main
		wantWhole    bool
		wantReply    string
	}{
		{"every recipient 451", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 451, "greylisted")
			s.RejectRcpt("taro.yamada@example.ac.jp", 451, "greylisted")
		}, "deferred,deferred", false, "451"},
		{"every recipient 550", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 550, "<taro.alt@example.net>: no such user")
			s.RejectRcpt("taro.yamada@example.ac.jp", 550, "no such user")
		}, "refused,refused", false, "550 5.0.0 <t***@example.net>: no such user"},
		{"one 550 and one 451", func(s *smtptest.Server) {
			s.RejectRcpt("taro.alt@example.net", 550, "no such user")
			s.RejectRcpt("taro.yamada@example.ac.jp", 451, "try later")
		}, "refused,deferred", false, "451"},
		{"data 451", func(s *smtptest.Server) { s.FailData(451, "local error", 1) }, "deferred,deferred", true, "local error"},
		{"data 554", func(s *smtptest.Server) { s.FailData(554, "content rejected", 1) }, "refused,refused", true, "content rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			s := newSMTP(t, srv, SMTPConfig{}, 1)
			tt.setup(srv)
			d := send(t, s, testMail(1))
			if got, want := verdicts(d), tt.wantVerdicts; got != want {
				t.Errorf("verdicts = %s, want %s (%+v)", got, want, d)
			}
			if got, want := d.Whole, tt.wantWhole; got != want {
				t.Errorf("whole = %v, want %v", got, want)
			}
			replies := d.Replies(carrierwatch.Refused) + d.Replies(carrierwatch.Deferred)
			if !strings.Contains(replies, tt.wantReply) {
				t.Errorf("replies = %q, want them to contain %q", replies, tt.wantReply)
			}
			if strings.Contains(replies, "taro.") {
				t.Errorf("reply shows an address unmasked: %q", replies)
			}
			if got := srv.Count(); got != 0 {
				t.Errorf("server accepted %d messages", got)
			}
			// The connection stays usable for the next message.
			srv.RejectRcpt("taro.alt@example.net", 0, "")
			srv.RejectRcpt("taro.yamada@example.ac.jp", 0, "")
			delivered(t, s, testMail(2))
			if got, want := srv.Connections(), 1; got != want {
				t.Errorf("connections = %d, want %d (reused after the refusal)", got, want)
			}
		})
	}
}

func TestSMTPSomeRecipientsRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)
	srv.RejectRcpt("taro.alt@example.net", 550, "<taro.alt@example.net> mailbox unavailable")

	m := testMail(1)
	d := send(t, s, m)
	if got, want := verdicts(d), "refused,accepted"; got != want {
		t.Fatalf("verdicts = %s, want %s", got, want)
	}
	if r := d.Recipients[0]; r.Address != m.To[0] || !strings.Contains(r.Reply, "550") || !strings.Contains(r.Reply, "t***@example.net") || strings.Contains(r.Reply, "taro.alt") {
		t.Errorf("refused recipient = %+v, want the address with the server's reply, masked", r)
	}
	msgs := srv.Messages()
	if got, want := len(msgs), 1; got != want {
		t.Fatalf("server has %d messages, want %d", got, want)
	}
	if got, want := strings.Join(msgs[0].To, ","), "taro.yamada@example.ac.jp"; got != want {
		t.Errorf("envelope to = %q, want %q", got, want)
	}
	checkMessage(t, msgs[0].Data, m) // the To header still names both
}

func TestSMTPServerGoneAndBack(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{Timeout: 2 * time.Second}, 2)
	delivered(t, s, testMail(1))

	srv.Stop()
	_, err := s.Send(t.Context(), testMail(2))
	var se *carrierwatch.SendError
	if !errors.As(err, &se) || se.Permanent {
		t.Fatalf("send to a stopped server: %v, want a temporary *SendError", err)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	delivered(t, s, testMail(3))
	// An idle connection that the server dropped is replaced without an error.
	delivered(t, s, testMail(4))
	srv.Stop()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	delivered(t, s, testMail(5))
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
	delivered(t, s, m)
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
		_, err := s.Send(t.Context(), m)
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
	_, err := s.Send(ctx, testMail(1))
	if err == nil || carrierwatch.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want a temporary error wrapping context.Canceled", err)
	}
}

func TestSMTPClose(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)
	delivered(t, s, testMail(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(t.Context(), testMail(2))
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

// BenchmarkSMTPSend sends one mail over and over from two goroutines to an
// in-process server, or to the sink at $CARRIERWATCH_BENCH_SMTP (host:port,
// plain SMTP), e.g. postfix's smtp-sink.
func BenchmarkSMTPSend(b *testing.B) {
	var s *SMTP
	var conns func() int
	if addr := os.Getenv("CARRIERWATCH_BENCH_SMTP"); addr != "" {
		host, port := hostPort(b, addr)
		var err error
		s, err = NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Timeout: 10 * time.Second}, testFrom, 2, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
	} else {
		srv := smtptest.Start(b, smtptest.Options{Discard: true})
		s = newSMTP(b, srv, SMTPConfig{}, 2)
		conns = srv.Connections
	}
	m := testMail(1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if conns != nil {
		b.ReportMetric(float64(conns()), "conns")
	}
}

// scriptServer is a small in-process SMTP server for what the go-smtp
// server of smtptest cannot show: any reply to MAIL FROM and DATA, and
// every command in arrival order.
type scriptServer struct {
	addr string

	mu           sync.Mutex
	mailReply    string            // reply to MAIL FROM; "" for 250
	rcptReply    map[string]string // lower-case address: reply line
	dataCmdReply string            // reply to DATA; "" for 354
	dataReply    string            // reply to the final dot; "" for 250
	msgs         []scriptMessage
	commands     []string // verbs in arrival order
	conns        int
}

type scriptMessage struct {
	from string
	to   []string
	data []byte
}

func startScriptServer(t testing.TB) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{addr: ln.Addr().String(), rcptReply: map[string]string{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *scriptServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	say := func(lines ...string) bool {
		_, err := io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n")
		return err == nil
	}
	if !say("220 script ESMTP") {
		return
	}
	var from string
	var to []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		s.commands = append(s.commands, verb)
		s.mu.Unlock()
		switch verb {
		case "EHLO":
			say("250-script", "250 8BITMIME")
		case "MAIL":
			s.mu.Lock()
			r := s.mailReply
			s.mu.Unlock()
			from, to = "", nil
			if r == "" {
				from, r = arg, "250 2.1.0 ok"
			}
			say(r)
		case "RCPT":
			if from == "" {
				say("503 5.5.1 MAIL first")
				continue
			}
			addr := strings.Trim(strings.TrimPrefix(strings.ToUpper(arg[:3])+arg[3:], "TO:"), "<>")
			s.mu.Lock()
			r := s.rcptReply[strings.ToLower(addr)]
			s.mu.Unlock()
			if r == "" {
				to = append(to, addr)
				r = "250 2.1.5 ok"
			}
			say(r)
		case "DATA":
			if from == "" || len(to) == 0 {
				say("554 5.5.1 no valid recipients")
				continue
			}
			s.mu.Lock()
			r := s.dataCmdReply
			s.mu.Unlock()
			if r != "" {
				say(r)
				continue
			}
			say("354 go ahead")
			var data []byte
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return // hung up: no message
				}
				if l == ".\r\n" {
					break
				}
				data = append(data, strings.TrimPrefix(l, ".")...)
			}
			s.mu.Lock()
			r = s.dataReply
			if r == "" {
				s.msgs = append(s.msgs, scriptMessage{from: from, to: to, data: data})
				r = "250 2.0.0 queued"
			}
			s.mu.Unlock()
			from, to = "", nil
			say(r)
		case "RSET":
			from, to = "", nil
			say("250 2.0.0 ok")
		case "NOOP":
			say("250 2.0.0 ok")
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.2 unknown command")
		}
	}
}

func (s *scriptServer) state() (msgs []scriptMessage, commands []string, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]scriptMessage(nil), s.msgs...), append([]string(nil), s.commands...), s.conns
}

// TestSMTPExchanges runs each reply a server may give through a whole
// transaction: the verdict on each recipient, and the connection after.
func TestSMTPExchanges(t *testing.T) {
	const alt, main = "taro.alt@example.net", "taro.yamada@example.ac.jp"
	tests := []struct {
		name         string
		mailReply    string
		rcpt         map[string]string
		dataCmdReply string
		dataReply    string
		verdicts     string // alt, main
		whole        bool   // a verdict on the whole message
		wantReply    string // among the replies of refused and deferred recipients
		wantTo       string // accepted envelope recipients of the delivered message; "" none
	}{
		{name: "delivered", verdicts: "accepted,accepted", wantTo: alt + "," + main},
		{name: "first recipient refused", rcpt: map[string]string{alt: "550 5.1.1 <" + alt + ">: no such user"},
			verdicts: "refused,accepted", wantReply: "550 5.1.1 <t***@example.net>", wantTo: main},
		{name: "last recipient refused", rcpt: map[string]string{main: "553 5.1.3 bad address"}, verdicts: "accepted,refused", wantReply: "553 5.1.3", wantTo: alt},
		{name: "last recipient 451", rcpt: map[string]string{main: "451 4.7.1 greylisted"},
			verdicts: "accepted,deferred", wantReply: "451 4.7.1 greylisted", wantTo: alt},
		{name: "first recipient 451", rcpt: map[string]string{alt: "451 4.7.1 greylisted"},
			verdicts: "deferred,accepted", wantReply: "451 4.7.1 greylisted", wantTo: main},
		{name: "every recipient 451", rcpt: map[string]string{alt: "451 4.7.1 greylisted", main: "451 4.7.1 greylisted"},
			verdicts: "deferred,deferred", wantReply: "451 4.7.1 greylisted"},
		{name: "one 550 and one 451", rcpt: map[string]string{alt: "550 5.1.1 no such user", main: "451 4.3.0 try later"},
			verdicts: "refused,deferred", wantReply: "451 4.3.0"},
		{name: "every recipient 550", rcpt: map[string]string{alt: "550 5.1.1 <" + alt + ">: no such user", main: "550 5.1.1 no such user"},
			verdicts: "refused,refused", wantReply: "550 5.1.1 <t***@example.net>: no such user"},
		{name: "mail from 550 quota", mailReply: "550 5.4.5 Daily user sending quota exceeded",
			verdicts: "refused,refused", whole: true, wantReply: "550 5.4.5 Daily user sending quota exceeded"},
		{name: "mail from 451", mailReply: "451 4.3.0 try later", verdicts: "deferred,deferred", whole: true, wantReply: "451 4.3.0 try later"},
		{name: "data 554", dataCmdReply: "554 5.7.1 not now", verdicts: "refused,refused", whole: true, wantReply: "554 5.7.1 not now"},
		{name: "end of data 554", dataReply: "554 5.7.1 content rejected", verdicts: "refused,refused", whole: true, wantReply: "554 5.7.1 content rejected"},
		{name: "end of data 451", dataReply: "451 4.3.0 local error", verdicts: "deferred,deferred", whole: true, wantReply: "451 4.3.0 local error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScriptServer(t)
			host, port := hostPort(t, srv.addr)
			s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Timeout: 5 * time.Second}, testFrom, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			srv.mu.Lock()
			srv.mailReply = tt.mailReply
			maps.Copy(srv.rcptReply, tt.rcpt)
			srv.dataCmdReply = tt.dataCmdReply
			srv.dataReply = tt.dataReply
			srv.mu.Unlock()

			m := testMail(1)
			d := send(t, s, m)
			if got, want := verdicts(d), tt.verdicts; got != want {
				t.Errorf("verdicts = %s, want %s (%+v)", got, want, d)
			}
			if got, want := d.Whole, tt.whole; got != want {
				t.Errorf("whole = %v, want %v", got, want)
			}
			replies := d.Replies(carrierwatch.Refused) + " " + d.Replies(carrierwatch.Deferred)
			if !strings.Contains(replies, tt.wantReply) {
				t.Errorf("replies = %q, want them to contain %q", replies, tt.wantReply)
			}
			if strings.Contains(replies, "taro.") {
				t.Errorf("reply shows an address unmasked: %q", replies)
			}
			msgs, commands, _ := srv.state()
			if tt.wantTo == "" {
				if len(msgs) != 0 {
					t.Errorf("server received %d messages", len(msgs))
				}
				if tt.dataCmdReply == "" && tt.dataReply == "" && slices.Contains(commands, "DATA") {
					t.Errorf("commands %v: DATA sent for a message that cannot go", commands)
				}
			} else {
				if got, want := len(msgs), 1; got != want {
					t.Fatalf("server received %d messages, want %d", got, want)
				}
				if got, want := msgs[0].from, "<mfa-noreply@example.ac.jp> BODY=8BITMIME"; !strings.HasPrefix(got, "FROM:") || got[len("FROM:"):] != want {
					t.Errorf("MAIL argument = %q, want FROM:%s", got, want)
				}
				if got, want := strings.Join(msgs[0].to, ","), tt.wantTo; got != want {
					t.Errorf("envelope to = %q, want %q", got, want)
				}
				checkMessage(t, msgs[0].data, m)
			}

			// The next message goes through, on the same connection.
			srv.mu.Lock()
			srv.mailReply = ""
			clear(srv.rcptReply)
			srv.dataCmdReply = ""
			srv.dataReply = ""
			srv.mu.Unlock()
			delivered(t, s, testMail(2))
			msgs, _, conns := srv.state()
			want := 2
			if tt.wantTo == "" {
				want = 1
			}
			if got := len(msgs); got != want {
				t.Errorf("server has %d messages, want %d", got, want)
			}
			if got, want := conns, 1; got != want {
				t.Errorf("connections = %d, want %d", got, want)
			}
		})
	}
}

// TestSMTPSendKeepsToContextDeadline dials a server that never greets: a
// ctx deadline sooner than the configured timeout must end the Send, not
// the timeout (the dispatcher's send timeout is what shutdown relies on).
func TestSMTPSendKeepsToContextDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, silent
			mu.Unlock()
		}
	})
	host, port := hostPort(t, ln.Addr().String())
	const timeout = 20 * time.Second
	s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Timeout: timeout}, testFrom, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Send(ctx, testMail(1))
	took := time.Since(start)
	if err == nil || carrierwatch.IsPermanent(err) {
		t.Errorf("error = %v, want a temporary error", err)
	}
	if took >= timeout/2 {
		t.Errorf("Send took %v with a 200ms ctx deadline; it waited for the %v timeout", took.Round(time.Millisecond), timeout)
	}
}

// TestSMTPHoldsMailForDeferredRecipient: on its first attempts, a mail
// one of whose recipients answers 4xx while another accepts is not sent to
// anyone yet (every recipient deferred), so the deferred address, perhaps
// the only one a locked-out user can read, gets it on a later attempt.
func TestSMTPHoldsMailForDeferredRecipient(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)
	srv.RejectRcpt("taro.alt@example.net", 451, "4.7.1 try again later")

	m := testMail(1)
	for attempt := 1; attempt < holdDeferredAttempts; attempt++ {
		m.Attempt = attempt
		d := send(t, s, m)
		if got, want := verdicts(d), "deferred,deferred"; got != want {
			t.Fatalf("attempt %d: verdicts %s, want %s", attempt, got, want)
		}
		if !strings.Contains(d.Recipients[1].Reply, "held") || !strings.Contains(d.Recipients[1].Reply, "4.7.1") {
			t.Errorf("held recipient's reply %q should say why", d.Recipients[1].Reply)
		}
		if n := srv.Count(); n != 0 {
			t.Fatalf("held mail delivered %d times", n)
		}
	}
	// The connection is still good for the next mail.
	srv.RejectRcpt("taro.alt@example.net", 0, "")
	delivered(t, s, m)
	if got := srv.Messages(); len(got) != 1 || len(got[0].To) != 2 {
		t.Fatalf("delivered %+v, want one mail to both addresses", got)
	}
	// From holdDeferredAttempts on it goes to those who accept.
	srv.RejectRcpt("taro.alt@example.net", 451, "4.7.1 try again later")
	m2 := testMail(2)
	m2.Attempt = holdDeferredAttempts
	if got, want := verdicts(send(t, s, m2)), "deferred,accepted"; got != want {
		t.Fatalf("unheld mail: verdicts %s, want %s", got, want)
	}
	if got := srv.Messages(); len(got) != 2 || len(got[1].To) != 1 || got[1].To[0] != "taro.yamada@example.ac.jp" {
		t.Fatalf("unheld mail went to %+v, want the accepting address only", got[len(got)-1].To)
	}
}
