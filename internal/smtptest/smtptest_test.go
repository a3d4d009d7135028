package smtptest

import (
	"crypto/tls"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

const msg = "From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nbody\r\n"

func TestServerRecordsMessages(t *testing.T) {
	s := Start(t, Options{})
	if err := smtp.SendMail(s.Addr, nil, "a@example.org", []string{"b@example.org", "c@example.org"}, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if !s.WaitCount(1, 2*time.Second) {
		t.Fatal("message not counted")
	}
	ms := s.Messages()
	if got, want := len(ms), 1; got != want {
		t.Fatalf("messages = %d, want %d", got, want)
	}
	if got, want := ms[0].From, "a@example.org"; got != want {
		t.Errorf("from = %q, want %q", got, want)
	}
	if got, want := strings.Join(ms[0].To, ","), "b@example.org,c@example.org"; got != want {
		t.Errorf("to = %q, want %q", got, want)
	}
	if got, want := ms[0].Header.Get("Subject"), "hello"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got, want := s.Connections(), 1; got != want {
		t.Errorf("connections = %d, want %d", got, want)
	}
}

func TestServerFailures(t *testing.T) {
	s := Start(t, Options{Discard: true})
	s.RejectRcpt("Bad@Example.org", 550, "no such user")
	err := smtp.SendMail(s.Addr, nil, "a@example.org", []string{"bad@example.org"}, []byte(msg))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 {
		t.Fatalf("rcpt error = %v, want 550", err)
	}
	s.FailData(451, "try later", 1)
	err = smtp.SendMail(s.Addr, nil, "a@example.org", []string{"ok@example.org"}, []byte(msg))
	if !errors.As(err, &te) || te.Code != 451 {
		t.Fatalf("data error = %v, want 451", err)
	}
	if err := smtp.SendMail(s.Addr, nil, "a@example.org", []string{"ok@example.org"}, []byte(msg)); err != nil {
		t.Fatalf("send after one failed DATA: %v", err)
	}
	if got, want := s.Count(), 1; got != want {
		t.Errorf("count = %d, want %d", got, want)
	}
	if got := len(s.Messages()); got != 0 {
		t.Errorf("discarding server kept %d messages", got)
	}
}

func TestServerStopRestart(t *testing.T) {
	s := Start(t, Options{})
	addr := s.Addr
	s.Stop()
	if err := smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org"}, []byte(msg)); err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got, want := s.Addr, addr; got != want {
		t.Errorf("addr after restart = %q, want %q", got, want)
	}
	if err := smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org"}, []byte(msg)); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
}

func TestServerAuthRequired(t *testing.T) {
	s := Start(t, Options{AuthUser: "u", AuthPass: "p"})
	err := smtp.SendMail(s.Addr, nil, "a@example.org", []string{"b@example.org"}, []byte(msg))
	if err == nil {
		t.Fatal("unauthenticated send succeeded")
	}
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	if err := smtp.SendMail(s.Addr, auth, "a@example.org", []string{"b@example.org"}, []byte(msg)); err != nil {
		t.Fatalf("authenticated send: %v", err)
	}
	bad := smtp.PlainAuth("", "u", "wrong", "127.0.0.1")
	if err := smtp.SendMail(s.Addr, bad, "a@example.org", []string{"b@example.org"}, []byte(msg)); err == nil {
		t.Fatal("send with a wrong password succeeded")
	}
}

func TestStartServerNeedsTLSConfigForImplicitTLS(t *testing.T) {
	if _, err := StartServer(Options{ImplicitTLS: true}); err == nil {
		t.Fatal("implicit TLS without a config started")
	}
	s, err := StartServer(Options{TLSConfig: &tls.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
