package email

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/internal/graphtest"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/msidentity"
)

var _ TokenSource = (*msidentity.TokenSource)(nil)

const mailbox = "mfa-noreply@example.ac.jp"

// recordingTokens remembers the tokens it hands out.
type recordingTokens struct {
	src    TokenSource
	mu     sync.Mutex
	tokens []string
}

func (r *recordingTokens) Token(ctx context.Context) (string, error) {
	t, err := r.src.Token(ctx)
	r.mu.Lock()
	r.tokens = append(r.tokens, t)
	r.mu.Unlock()
	return t, err
}

// identityPlatform starts the fake identity platform and a token source
// for Exchange Online's scope from it.
func identityPlatform(t *testing.T) (*graphtest.Server, *recordingTokens) {
	t.Helper()
	f := graphtest.New(t, graphtest.Tenant{})
	src, err := msidentity.NewTokenSource(msidentity.Credentials{
		TenantID: graphtest.TenantID, ClientID: graphtest.ClientID, ClientSecret: f.Secret(),
		AuthorityHost: f.URL, HTTPClient: f.Client(),
	}, graphtest.ExchangeScope)
	if err != nil {
		t.Fatal(err)
	}
	return f, &recordingTokens{src: src}
}

// xoauth2Server is an SMTP server that takes XOAUTH2 for mailbox with a
// token the identity platform issued and that has not expired.
func xoauth2Server(t *testing.T, f *graphtest.Server) *smtptest.Server {
	return smtptest.Start(t, smtptest.Options{XOAUTH2: func(user, token string) error {
		if user != mailbox {
			return errors.New("wrong user")
		}
		return f.ValidSMTPToken(user, token)
	}})
}

func TestSMTPXOAUTH2(t *testing.T) {
	f, tokens := identityPlatform(t)
	srv := xoauth2Server(t, f)
	logger, logs := testLogger()
	host, port := hostPort(t, srv.Addr)
	s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Username: mailbox, OAuth2: tokens, Timeout: 5 * time.Second}, testFrom, 0, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	delivered(t, s, testMail(1))
	if got := f.SMTPTokens(); got != 1 {
		t.Errorf("Exchange tokens issued = %d, want 1", got)
	}
	if strings.Contains(logs.String(), "exchange-token") {
		t.Errorf("log shows the token:\n%s", logs.String())
	}
}

// TestSMTPXOAUTH2RefreshesExpiredToken: a connection opened after the
// token expired gets a fresh one; the server refuses the old one.
func TestSMTPXOAUTH2RefreshesExpiredToken(t *testing.T) {
	f, tokens := identityPlatform(t)
	f.SetTokenLifetime(2 * time.Second)
	srv := xoauth2Server(t, f)
	host, port := hostPort(t, srv.Addr)
	// No idle connections: each send dials and authenticates.
	s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Username: mailbox, OAuth2: tokens, Timeout: 5 * time.Second}, testFrom, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	delivered(t, s, testMail(1))
	time.Sleep(2500 * time.Millisecond)
	delivered(t, s, testMail(2))
	tokens.mu.Lock()
	got := append([]string(nil), tokens.tokens...)
	tokens.mu.Unlock()
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("tokens used = %q, want two different ones", got)
	}
	if err := f.ValidSMTPToken(mailbox, got[0]); err == nil {
		t.Errorf("the server still accepts the expired token")
	}
	if got := srv.Count(); got != 2 {
		t.Errorf("server received %d mails, want 2", got)
	}
}

// staticToken is a token source that always gives the same token.
type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

func TestSMTPXOAUTH2WrongTokenIsTemporaryAndNotShown(t *testing.T) {
	f, _ := identityPlatform(t)
	srv := xoauth2Server(t, f)
	host, port := hostPort(t, srv.Addr)
	const wrong = "eyJ0eXAiOiJKV1QifQ.not-issued-by-the-platform"
	logger, logs := testLogger()
	s, err := NewSMTP(SMTPConfig{Host: host, Port: port, TLS: TLSNone, Username: mailbox, OAuth2: staticToken(wrong), Timeout: 5 * time.Second}, testFrom, 1, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(t.Context(), testMail(1))
	if err == nil || carrierwatch.IsPermanent(err) {
		t.Fatalf("send with a wrong token: %v, want a temporary error", err)
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("error %q should carry the server's 535", err)
	}
	if strings.Contains(err.Error()+logs.String(), "not-issued") {
		t.Errorf("the token shows in the error or the log: %v\n%s", err, logs.String())
	}
	if srv.Count() != 0 {
		t.Errorf("server accepted a mail without authentication")
	}
}

func TestSMTPXOAUTH2NeedsUsername(t *testing.T) {
	if _, err := NewSMTP(SMTPConfig{Host: "localhost", OAuth2: staticToken("x")}, testFrom, 1, nil); err == nil {
		t.Error("NewSMTP accepted XOAUTH2 without a mailbox")
	}
}
