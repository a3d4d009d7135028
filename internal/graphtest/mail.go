package graphtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the fake's mail side: access tokens for Exchange Online
// (SMTP AUTH XOAUTH2, checked by an SMTP test server with ValidSMTPToken)
// and POST /users/{id | userPrincipalName}/sendMail with a MIME body.

// ExchangeScope is the scope of tokens for SMTP AUTH XOAUTH2 in the
// global cloud.
const ExchangeScope = "https://outlook.office365.com/.default"

// KindSendMail counts POST /v1.0/users/{sender}/sendMail requests.
const KindSendMail = "sendMail"

// MailboxConcurrency is how many sendMail requests one mailbox serves at
// once; more are answered 429 ApplicationThrottled.
const MailboxConcurrency = 4

// SentMail is one message sendMail accepted.
type SentMail struct {
	Sender string // the {id | userPrincipalName} of the request path
	MIME   []byte // the decoded MIME message, as posted
	// Header is the message's header as Exchange delivers it: without
	// Auto-Submitted, which sendMail strips.
	Header mail.Header
	To     []string // addresses of the To header
}

// mailState is the mail side's state, guarded by Server.mu.
type mailState struct {
	tokenLife   time.Duration        // of Exchange tokens; 0 is an hour
	tokens      map[string]time.Time // Exchange token → expiry
	issued      int                  // Exchange tokens issued
	latency     time.Duration        // per sendMail request
	inFlight    map[string]int       // sender → requests being served
	maxInFlight int                  // the most seen at once, any sender
	overLimit   int                  // requests refused for MailboxConcurrency
	throttle    int                  // sendMail requests still to answer 429
	unavailable int                  // sendMail requests still to answer 503
	retryAfter  int                  // seconds, for throttle and unavailable
	sent        []SentMail
	requests    int
}

// SetTokenLifetime sets how long Exchange tokens issued from now on are
// valid (expires_in); ValidSMTPToken refuses them after that.
func (f *Server) SetTokenLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mail.tokenLife = d
}

// ValidSMTPToken reports whether token is an unexpired Exchange token this
// server issued; it suits smtptest.Options.XOAUTH2.
func (f *Server) ValidSMTPToken(_ /* user */, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.mail.tokens[token]
	switch {
	case !ok:
		return errors.New("unknown token")
	case time.Now().After(exp):
		return errors.New("token expired")
	}
	return nil
}

// SMTPTokens returns how many Exchange tokens were issued.
func (f *Server) SMTPTokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mail.issued
}

// issueToken returns the access token for a token request's scope: the
// Graph token for this server's Graph scope, a new Exchange token for
// ExchangeScope. Called with f.mu held.
func (f *Server) issueToken(scope string) (token string, expiresIn int, ok bool) {
	scopes := strings.Fields(scope)
	switch {
	case slices.Contains(scopes, f.URL+"/.default"):
		return AccessToken, 3599, true
	case slices.Contains(scopes, ExchangeScope):
		life := f.mail.tokenLife
		if life <= 0 {
			life = time.Hour
		}
		f.mail.issued++
		token = fmt.Sprintf("eyJ0eXAiOiJKV1QifQ.exchange-token-%d", f.mail.issued)
		if f.mail.tokens == nil {
			f.mail.tokens = map[string]time.Time{}
		}
		f.mail.tokens[token] = time.Now().Add(life)
		return token, int(life / time.Second), true
	}
	return "", 0, false
}

// SetMailLatency delays every sendMail request by d (to see concurrency).
func (f *Server) SetMailLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mail.latency = d
}

// ThrottleSendMail answers the next n sendMail requests 429
// ApplicationThrottled with Retry-After: seconds.
func (f *Server) ThrottleSendMail(n, seconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mail.throttle, f.mail.retryAfter = n, seconds
}

// UnavailableSendMail answers the next n sendMail requests 503 with
// Retry-After: seconds.
func (f *Server) UnavailableSendMail(n, seconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mail.unavailable, f.mail.retryAfter = n, seconds
}

// SentMails returns the messages sendMail accepted, in order.
func (f *Server) SentMails() []SentMail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mail.sent)
}

// MailStats says how sendMail was used.
type MailStats struct {
	Requests    int // sendMail requests
	MaxInFlight int // the most requests served at once for one mailbox
	OverLimit   int // requests answered 429 for MailboxConcurrency
}

// MailStats returns the sendMail counters.
func (f *Server) MailStats() MailStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return MailStats{Requests: f.mail.requests, MaxInFlight: f.mail.maxInFlight, OverLimit: f.mail.overLimit}
}

// hasMailbox reports whether sender (an id or a user principal name) is a
// user of the tenant. Called with f.mu held.
func (f *Server) hasMailbox(sender string) bool {
	if e, ok := f.index[sender]; ok && !e.deleted {
		return true
	}
	for _, e := range f.entries {
		if !e.deleted && strings.EqualFold(e.user.UserPrincipalName, sender) {
			return true
		}
	}
	return false
}

// serveMail answers POST /v1.0/users/{sender}/sendMail, as Graph does for a
// MIME body; it reports false for any other request.
func (f *Server) serveMail(w http.ResponseWriter, r *http.Request) bool {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), graphPath)
	if !strings.HasPrefix(rest, "/users/") || !strings.HasSuffix(rest, "/sendMail") {
		return false
	}
	if r.Method != http.MethodPost {
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Only POST is supported.", "")
		return true
	}
	sender, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(rest, "/users/"), "/sendMail"))
	if err != nil || sender == "" {
		graphError(w, http.StatusBadRequest, "ErrorInvalidUser", "The requested user is invalid.", "")
		return true
	}
	body, _ := io.ReadAll(r.Body)

	f.mu.Lock()
	f.requests[KindSendMail]++
	f.mail.requests++
	ms := &f.mail
	if ms.inFlight == nil {
		ms.inFlight = map[string]int{}
	}
	key := strings.ToLower(sender)
	switch {
	case ms.unavailable > 0:
		ms.unavailable--
		ra := strconv.Itoa(ms.retryAfter)
		f.mu.Unlock()
		graphError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable.", ra)
		return true
	case ms.throttle > 0:
		ms.throttle--
		ra := strconv.Itoa(ms.retryAfter)
		f.mu.Unlock()
		graphError(w, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its IncomingBytes limit.", ra)
		return true
	case ms.inFlight[key] >= MailboxConcurrency:
		ms.overLimit++
		f.mu.Unlock()
		graphError(w, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", "1")
		return true
	case !f.hasMailbox(sender):
		f.mu.Unlock()
		graphError(w, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+sender+"' is invalid.", "")
		return true
	}
	ms.inFlight[key]++
	ms.maxInFlight = max(ms.maxInFlight, ms.inFlight[key])
	latency := ms.latency
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.mail.inFlight[key]--
		f.mu.Unlock()
	}()
	if latency > 0 {
		time.Sleep(latency)
	}

	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		graphError(w, http.StatusBadRequest, "RequestBodyRead", "This fake takes sendMail with a MIME body (Content-Type: text/plain) only, not "+ct+".", "")
		return true
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil || len(raw) == 0 {
		graphError(w, http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.", "")
		return true
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil || msg.Header.Get("From") == "" {
		graphError(w, http.StatusBadRequest, "ErrorMimeContentInvalid", "Invalid MIME content.", "")
		return true
	}
	custom := 0
	for k := range msg.Header {
		if strings.HasPrefix(strings.ToUpper(k), "X-") {
			custom++
		}
	}
	if custom > 5 {
		graphError(w, http.StatusBadRequest, "InvalidInternetMessageHeaderCollection", "Maximum number of headers in one message should be less than or equal to 5.", "")
		return true
	}
	var to []string
	if list, err := msg.Header.AddressList("To"); err == nil {
		for _, a := range list {
			to = append(to, a.Address)
		}
	}
	if len(to) == 0 {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.", "")
		return true
	}
	delivered := mail.Header{}
	for k, v := range msg.Header {
		if k != "Auto-Submitted" {
			delivered[k] = v
		}
	}
	f.mu.Lock()
	f.mail.sent = append(f.mail.sent, SentMail{Sender: sender, MIME: raw, Header: delivered, To: to})
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	return true
}
