package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// contentSecurityPolicy allows only the console's own stylesheet, script
// and images; no inline script, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// mailPolicy is the policy of a rendered mail shown in a frame of the help
// desk page: the mail's own inline styles, nothing that runs, sandboxed.
const mailPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"

// secureHeaders sets the response headers every console response carries.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// csrf issues and checks the token every form carries. The token is an
// HMAC of the signed-in actor under a key made at start: another site can
// neither read nor forge it. Origin and Sec-Fetch-Site are checked too
// (net/http's CrossOriginProtection), so a cross-site POST is refused even
// before its token is looked at.
type csrf struct {
	key    []byte
	origin *http.CrossOriginProtection
}

func newCSRF() *csrf {
	key := make([]byte, 32)
	rand.Read(key)
	return &csrf{key: key, origin: http.NewCrossOriginProtection()}
}

// token returns the form token for actor.
func (c *csrf) token(actor string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("carrierwatch-console\x00" + actor))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// valid reports whether a POST's token belongs to its actor.
func (c *csrf) valid(r *http.Request) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && hmac.Equal([]byte(got), []byte(c.token(actorOf(r.Context()))))
}

// csrfField is the form field that carries the token.
const csrfField = "csrf"

// protect refuses state-changing requests that are cross-origin or lack
// the token, with 403.
func (c *csrf) protect(next http.Handler) http.Handler {
	checked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !c.valid(r) {
				http.Error(w, "403 the form's security token is missing or stale: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
	return c.origin.Handler(checked)
}
