package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// HTTPAuth says who may use the web console. With neither key set the
// console trusts the machine, which is allowed only on a loopback listen
// address; when either is set it applies on every address.
type HTTPAuth struct {
	// UsersFile is an htpasswd-style file of "user:bcrypt-hash" lines;
	// the browser signs in with HTTP Basic authentication.
	UsersFile string `yaml:"users_file"`
	// TrustedProxy lists the addresses or CIDR ranges of a reverse proxy
	// that signs users in; only requests from them are served, and the
	// signed-in user is read from Header.
	TrustedProxy []string `yaml:"trusted_proxy"`
	// Header is the request header the trusted proxy puts the signed-in
	// user's name in ("X-Remote-User").
	Header string `yaml:"header"`
}

// Enabled reports whether any console authentication is configured.
func (a HTTPAuth) Enabled() bool { return a.UsersFile != "" || len(a.TrustedProxy) > 0 }

// IsLoopback reports whether the host of a host:port listen address only
// reaches this machine ("127.0.0.1", "[::1]", "localhost"). An empty host
// listens on every address and is not loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ParsePrefixes parses trusted_proxy entries: addresses ("10.0.0.5") or
// CIDR ranges ("10.0.0.0/24").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("entry %d, %q, is neither an address nor a CIDR range", i, s)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// validate checks http.listen and http.auth.
func (h *HTTP) validate(add func(path, format string, args ...any)) {
	if h.Listen != "" {
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			add("http.listen", "%q is not host:port: %v", h.Listen, err)
		} else if !IsLoopback(h.Listen) && !h.Auth.Enabled() {
			add("http.auth", "must be set when http.listen %q is not a loopback address: the web console acts on campaigns and shows users (set users_file, or trusted_proxy and header)", h.Listen)
		}
	}
	a := h.Auth
	if a.UsersFile != "" && len(a.TrustedProxy) > 0 {
		add("http.auth", "set either users_file or trusted_proxy, not both")
	}
	if len(a.TrustedProxy) > 0 {
		if _, err := ParsePrefixes(a.TrustedProxy); err != nil {
			add("http.auth.trusted_proxy", "%v", err)
		}
		if strings.TrimSpace(a.Header) == "" {
			add("http.auth.header", "must be set with trusted_proxy: the request header the proxy puts the signed-in user in (e.g. X-Remote-User)")
		}
	} else if a.Header != "" {
		add("http.auth.header", "is used only with trusted_proxy")
	}
}
