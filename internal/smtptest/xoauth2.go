package smtptest

import (
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// XOAUTH2 is the SASL mechanism Exchange Online and Gmail take OAuth 2.0
// access tokens with.
const XOAUTH2 = "XOAUTH2"

// errXOAUTH2Failed is Exchange Online's answer to a wrong or expired token.
var errXOAUTH2Failed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 3}, Message: "Authentication unsuccessful"}

// xoauth2Server reads the one client response of XOAUTH2,
// "user=<user>\x01auth=Bearer <token>\x01\x01", and asks check.
type xoauth2Server struct {
	check func(user, token string) error
	done  bool
}

func (x *xoauth2Server) Next(response []byte) ([]byte, bool, error) {
	if x.done {
		return nil, true, sasl.ErrUnexpectedClientResponse
	}
	if response == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	x.done = true
	var user, token string
	for _, kv := range strings.Split(string(response), "\x01") {
		switch {
		case strings.HasPrefix(kv, "user="):
			user = strings.TrimPrefix(kv, "user=")
		case strings.HasPrefix(kv, "auth=Bearer "):
			token = strings.TrimPrefix(kv, "auth=Bearer ")
		}
	}
	if user == "" || token == "" {
		return nil, true, errXOAUTH2Failed
	}
	if err := x.check(user, token); err != nil {
		return nil, true, errXOAUTH2Failed
	}
	return nil, true, nil
}
