package email

import (
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// TestReplyToAndReturnPath: Reply-To is a header, the return path the
// envelope sender (MAIL FROM); without them, the From address is both.
func TestReplyToAndReturnPath(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSMTP(t, srv, SMTPConfig{}, 1)

	plain := testMail(1)
	delivered(t, s, plain)
	m := testMail(2)
	m.ReplyTo = "IT ヘルプデスク <helpdesk@example.ac.jp>"
	m.ReturnPath = "mfa-bounces@example.ac.jp"
	delivered(t, s, m)

	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	if got[0].From != "mfa-noreply@example.ac.jp" || got[0].Header.Get("Reply-To") != "" {
		t.Errorf("without settings: MAIL FROM %q, Reply-To %q", got[0].From, got[0].Header.Get("Reply-To"))
	}
	if got[1].From != "mfa-bounces@example.ac.jp" {
		t.Errorf("MAIL FROM %q, want the return path", got[1].From)
	}
	a, err := got[1].Header.AddressList("Reply-To")
	if err != nil || len(a) != 1 || a[0].Address != "helpdesk@example.ac.jp" {
		t.Errorf("Reply-To %v (%v)", a, err)
	}
	if f, _ := got[1].Header.AddressList("From"); len(f) != 1 || f[0].Address != "mfa-noreply@example.ac.jp" {
		t.Errorf("From header %v: the return path must not replace it", f)
	}
	if got[1].Header.Get("EnvelopeFrom") != "" || got[1].Header.Get("Return-Path") != "" {
		t.Error("the envelope sender leaked into the headers")
	}

	// A bad address is an invalid mail, not a send.
	bad := testMail(3)
	bad.ReturnPath = "bounces@example.ac.jp\r\nBcc: x@example.net"
	if _, err := Build(testFrom, bad); err == nil {
		t.Error("a return path with a line break was accepted")
	}
}
