package console

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// AuthConfig says who may use the console. The zero value trusts every
// request from a loopback address and refuses the others; the config
// check (config.HTTP) refuses a non-loopback listen address without one of
// the two settings.
type AuthConfig struct {
	// UsersFile is an htpasswd-style file of "name:bcrypt-hash" lines
	// ("$2a$", "$2b$" or "$2y$" hashes, as htpasswd -B writes them);
	// blank lines and lines starting with # are skipped.
	UsersFile string
	// TrustedProxies are the reverse proxies that sign users in; Header is
	// the request header carrying the signed-in user's name.
	TrustedProxies []netip.Prefix
	Header         string
}

// localActor is the actor recorded when the console trusts the machine.
const localActor = "local"

// authenticator decides who a request is from.
type authenticator struct {
	usersFile string
	users     atomic.Pointer[map[string][]byte] // name → bcrypt hash; nil without a users file
	proxies   []netip.Prefix
	header    string
	logger    *slog.Logger
}

// newAuthenticator reads the users file, if any. Errors name the file and
// line, never a hash.
func newAuthenticator(cfg AuthConfig, logger *slog.Logger) (*authenticator, error) {
	a := &authenticator{usersFile: cfg.UsersFile, proxies: cfg.TrustedProxies, header: cfg.Header, logger: logger}
	if err := a.reload(); err != nil {
		return nil, err
	}
	if len(a.proxies) > 0 && a.header == "" {
		return nil, errors.New("http.auth.header: must be set with trusted_proxy")
	}
	return a, nil
}

// reload reads the users file again; on an error the users read before
// stay.
func (a *authenticator) reload() error {
	if a.usersFile == "" {
		return nil
	}
	users, err := LoadUsers(a.usersFile)
	if err != nil {
		return err
	}
	a.users.Store(&users)
	return nil
}

// LoadUsers reads an htpasswd-style file of bcrypt lines. It is what
// check-config and startup use to refuse a broken file.
func LoadUsers(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("http.auth.users_file: %w", err)
	}
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsFunc(name, unicode.IsSpace) {
			return nil, fmt.Errorf("http.auth.users_file: %s line %d: want name:bcrypt-hash (htpasswd -B)", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("http.auth.users_file: %s line %d (user %s): not a bcrypt hash; create it with htpasswd -B (other hash kinds are not accepted)", path, n, name)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("http.auth.users_file: %s line %d: user %s is listed twice", path, n, name)
		}
		users[name] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("http.auth.users_file: %s: %w", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("http.auth.users_file: %s has no users", path)
	}
	return users, nil
}

type actorKey struct{}

// actorOf returns the signed-in user of an authenticated request.
func actorOf(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}

// wrap admits a request only when it is authenticated and puts the actor
// into its context.
func (a *authenticator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, status := a.check(r)
		switch status {
		case http.StatusOK:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="carrierwatch", charset="UTF-8"`)
			http.Error(w, "401 sign in to use the carrierwatch console", http.StatusUnauthorized)
		default:
			http.Error(w, "403 this address may not use the carrierwatch console", http.StatusForbidden)
		}
	})
}

// check returns the actor and http.StatusOK, or the status to refuse with.
func (a *authenticator) check(r *http.Request) (string, int) {
	remote := remoteAddr(r)
	users := a.users.Load()
	switch {
	case users != nil:
		name, pw, ok := r.BasicAuth()
		if !ok {
			return "", http.StatusUnauthorized
		}
		hash, known := (*users)[name]
		if !known {
			// Spend the same time as for a known user.
			hash = dummyHash
		}
		if bcrypt.CompareHashAndPassword(hash, []byte(pw)) != nil || !known {
			a.logger.Warn("console sign-in refused", "user", cleanName(name), "remote", remote.String())
			return "", http.StatusUnauthorized
		}
		return name, http.StatusOK
	case len(a.proxies) > 0:
		if !inPrefixes(remote, a.proxies) {
			a.logger.Warn("console request not from a trusted proxy refused", "remote", remote.String())
			return "", http.StatusForbidden
		}
		name := cleanName(r.Header.Get(a.header))
		if name == "" {
			return "", http.StatusForbidden
		}
		return name, http.StatusOK
	default:
		if !remote.IsLoopback() {
			return "", http.StatusForbidden
		}
		return localActor, http.StatusOK
	}
}

// dummyHash is compared against for unknown user names.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("carrierwatch-unknown-user"), bcrypt.DefaultCost)

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

func inPrefixes(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// cleanName makes a user name safe for logs and the audit trail: one line,
// at most 100 runes.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100])
	}
	return s
}
