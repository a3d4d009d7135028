package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Publish is the public notice page carrierwatch writes (see package
// publish). The zero value publishes nothing.
type Publish struct {
	// Dir is the folder the pages are written into; "" disables
	// publishing. An organisation's web server serves it as it is.
	Dir string `yaml:"dir"`
	// BaseURL is the folder's public address ("https://www.example.ac.jp/mfa-notice/").
	// When set, notify.links.notice defaults to the incident's page there.
	BaseURL string `yaml:"base_url"`
	// Listen, when set, makes the daemon serve Dir read-only on its own
	// listener (host:port); nothing else is served there.
	Listen string `yaml:"listen"`
	// TemplatesDir holds page template overrides, named like the embedded
	// ones ("ja.incident.html", …; see package publish).
	TemplatesDir string `yaml:"templates_dir"`
}

// validate returns the problems of the publish block.
func (p Publish) validate() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if p.BaseURL != "" {
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("publish.base_url", "%q is not an http(s) address (e.g. https://www.example.ac.jp/mfa-notice/)", p.BaseURL)
		}
		if p.Dir == "" {
			add("publish.base_url", "is set but publish.dir is not: set the folder the pages are written into")
		}
	}
	if p.Listen != "" {
		if _, _, err := net.SplitHostPort(p.Listen); err != nil {
			add("publish.listen", "%q is not host:port: %v", p.Listen, err)
		}
		if p.Dir == "" {
			add("publish.listen", "is set but publish.dir is not: set the folder to serve")
		}
	}
	return errs
}

// resolve makes the publish paths absolute against dir.
func (p *Publish) resolve(dir string) {
	for _, s := range []*string{&p.Dir, &p.TemplatesDir} {
		if *s != "" && !filepath.IsAbs(*s) {
			*s = filepath.Join(dir, *s)
		}
	}
}

// PageURL returns the public address of a published file name
// ("incident-3.html"), or "" when no base_url is set.
func (p Publish) PageURL(name string) string {
	if p.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(p.BaseURL, "/") + "/" + name
}
