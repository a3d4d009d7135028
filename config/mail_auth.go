package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/carrierwatch/carrierwatch/msidentity"
)

// SMTP authentication methods (mail.smtp.auth).
const (
	SMTPAuthPassword = "password" // username + password_file (the default when a username is set)
	SMTPAuthOAuth2   = "oauth2"   // SASL XOAUTH2 with a client-credentials token
	SMTPAuthNone     = "none"     // no AUTH
)

// OAuth2 are the client credentials of mail.smtp.oauth2 (and later of
// mail.graph): an application registered in Entra ID. When tenant_id and
// client_id are empty, those of directory.graph are used.
type OAuth2 struct {
	TenantID                      string `yaml:"tenant_id"`
	ClientID                      string `yaml:"client_id"`
	ClientSecretFile              string `yaml:"client_secret_file"`
	ClientCertificateFile         string `yaml:"client_certificate_file"`
	ClientCertificatePasswordFile string `yaml:"client_certificate_password_file"`
	Cloud                         string `yaml:"cloud"` // global | usgov | china; "" is directory.graph's
	AuthorityHost                 string `yaml:"authority_host"`

	ClientSecret              Secret `yaml:"-"`
	ClientCertificate         []byte `yaml:"-"`
	ClientCertificatePassword Secret `yaml:"-"`
}

// own reports whether the block names an application of its own.
func (o OAuth2) own() bool { return o.TenantID != "" || o.ClientID != "" }

// SMTPAuth returns the SMTP authentication method in effect: mail.smtp.auth,
// or password when a username is set, or none.
func (c *Config) SMTPAuth() string {
	switch {
	case c.Mail.SMTP.Auth != "":
		return c.Mail.SMTP.Auth
	case c.Mail.SMTP.Username != "":
		return SMTPAuthPassword
	}
	return SMTPAuthNone
}

// MailOAuth2 returns the credentials the mail transport gets tokens with:
// mail.smtp.oauth2 (mail.graph.oauth2 for the graph transport) when it
// names an application, else directory.graph's.
// Resolve has read the secrets of both.
func (c *Config) MailOAuth2() OAuth2 {
	if o := c.mailOAuth2Block(); o.own() {
		if o.Cloud == "" {
			o.Cloud = c.Directory.Graph.Cloud
		}
		return o
	}
	g := c.Directory.Graph
	return OAuth2{
		TenantID: g.TenantID, ClientID: g.ClientID, Cloud: g.Cloud, AuthorityHost: g.AuthorityHost,
		ClientSecretFile: g.ClientSecretFile, ClientCertificateFile: g.ClientCertificateFile,
		ClientSecret: g.ClientSecret, ClientCertificate: g.ClientCertificate, ClientCertificatePassword: g.ClientCertificatePassword,
	}
}

// mailOAuth2Block is the transport's own credentials block.
func (c *Config) mailOAuth2Block() OAuth2 {
	if c.Mail.Transport == "graph" {
		return c.Mail.Graph.OAuth2
	}
	return c.Mail.SMTP.OAuth2
}

// MailGraphEndpoint is the Graph endpoint of the graph transport:
// mail.graph.graph_endpoint, else directory.graph.graph_endpoint, else the
// cloud's.
func (c *Config) MailGraphEndpoint() string {
	switch {
	case c.Mail.Graph.GraphEndpoint != "":
		return c.Mail.Graph.GraphEndpoint
	case c.Directory.Graph.GraphEndpoint != "":
		return c.Directory.Graph.GraphEndpoint
	}
	e, _ := msidentity.CloudEndpoints(c.MailOAuth2().Cloud)
	return e.Graph
}

// validateMailGraph checks mail.graph for mail.transport: graph.
func (c *Config) validateMailGraph() []error {
	var errs []error
	if c.Mail.Graph.Sender == "" {
		errs = append(errs, fmt.Errorf("mail.graph.sender: must be set when mail.transport is graph: the mailbox to send as (a user principal name or object id)"))
	}
	if v := c.Mail.Graph.GraphEndpoint; v != "" && checkHTTPS(v) != nil {
		errs = append(errs, fmt.Errorf("mail.graph.graph_endpoint: %q must be an https:// URL", v))
	}
	return append(errs, c.validateMailCredentials("mail.graph.oauth2", "mail.transport: graph")...)
}

// validateSMTPAuth checks mail.smtp.auth and what it needs.
func (c *Config) validateSMTPAuth() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	s := c.Mail.SMTP
	switch c.SMTPAuth() {
	case SMTPAuthPassword, SMTPAuthNone:
		if s.OAuth2.own() {
			add("mail.smtp.oauth2", "is set but mail.smtp.auth is not oauth2")
		}
	case SMTPAuthOAuth2:
		if s.Username == "" {
			add("mail.smtp.username", "must be set when mail.smtp.auth is oauth2: the mailbox to send as (e.g. mfa-noreply@example.ac.jp)")
		}
		if s.PasswordFile != "" {
			add("mail.smtp.password_file", "is not used with mail.smtp.auth: oauth2; remove it")
		}
		if s.TLS == "none" {
			add("mail.smtp.tls", "must be starttls or tls with mail.smtp.auth: oauth2: the token must not travel in the clear")
		}
		errs = append(errs, c.validateMailCredentials("mail.smtp.oauth2", "mail.smtp.auth: oauth2")...)
	default:
		add("mail.smtp.auth", "%q: want password, oauth2 or none", s.Auth)
	}
	return errs
}

// validateMailCredentials checks the mail transport's application: its own
// block at ownPath, or directory.graph's; what says why they are needed.
func (c *Config) validateMailCredentials(ownPath, what string) []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	own := c.mailOAuth2Block().own()
	o := c.MailOAuth2()
	path := ownPath
	if !own {
		path = "directory.graph"
		if c.Directory.Graph.TenantID == "" && c.Directory.Graph.ClientID == "" {
			add(ownPath, "needs tenant_id, client_id and a client secret or certificate, or directory.graph's (directory.provider: graph), for %s", what)
			return errs
		}
	}
	if o.TenantID == "" {
		add(path+".tenant_id", "must be set for %s", what)
	}
	if o.ClientID == "" {
		add(path+".client_id", "must be set for %s", what)
	}
	if o.ClientSecretFile != "" && o.ClientCertificateFile != "" {
		add(path, "at most one of client_secret_file & client_certificate_file")
	}
	env := EnvMailClientSecret
	if !own {
		env = EnvGraphClientSecret
	}
	if o.ClientSecretFile == "" && o.ClientCertificateFile == "" && os.Getenv(env) == "" {
		add(path, "one of client_secret_file, client_certificate_file or $%s is needed for %s", env, what)
	}
	switch o.Cloud {
	case "", "global", "usgov", "china":
	default:
		add(path+".cloud", "%q: want global, usgov or china", o.Cloud)
	}
	if v := c.mailOAuth2Block().AuthorityHost; v != "" && checkHTTPS(v) != nil {
		add(ownPath+".authority_host", "%q must be an https:// URL", v)
	}
	return errs
}

// EnvMailClientSecret holds mail.smtp.oauth2's client secret when it has no
// client_secret_file.
const EnvMailClientSecret = "CARRIERWATCH_MAIL_CLIENT_SECRET"

// resolveSMTPAuth reads the mail transport's application secrets
// (mail.smtp.oauth2 or mail.graph.oauth2, or directory.graph's when the
// directory does not read them).
func (c *Config) resolveSMTPAuth(dir string) error {
	o := &c.Mail.SMTP.OAuth2
	what := "mail.smtp.oauth2"
	switch {
	case c.Mail.Transport == "graph":
		o, what = &c.Mail.Graph.OAuth2, "mail.graph.oauth2"
	case c.Mail.Transport != "smtp" || c.SMTPAuth() != SMTPAuthOAuth2:
		return nil
	}
	var errs []error
	if !o.own() {
		// directory.graph's application; its secrets are read with the
		// directory's when that is the provider.
		if c.Directory.Provider == "graph" {
			return nil
		}
		g := &c.Directory.Graph
		if g.ClientCertificateFile != "" {
			b, err := os.ReadFile(expandCredPath(g.ClientCertificateFile, dir))
			if err != nil {
				errs = append(errs, fmt.Errorf("directory.graph.client_certificate_file: %w", err))
			}
			g.ClientCertificate = b
			pw, err := readSecret("directory.graph.client_certificate_password_file", g.ClientCertificatePasswordFile, "", dir)
			g.ClientCertificatePassword = pw
			return errors.Join(append(errs, err)...)
		}
		secret, err := readSecret("directory.graph.client_secret_file", g.ClientSecretFile, EnvGraphClientSecret, dir)
		g.ClientSecret = secret
		return err
	}
	if o.ClientCertificateFile != "" {
		b, err := os.ReadFile(expandCredPath(o.ClientCertificateFile, dir))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.client_certificate_file: %w", what, err))
		}
		o.ClientCertificate = b
		pw, err := readSecret(what+".client_certificate_password_file", o.ClientCertificatePasswordFile, "", dir)
		errs = append(errs, err)
		o.ClientCertificatePassword = pw
		return errors.Join(errs...)
	}
	secret, err := readSecret(what+".client_secret_file", o.ClientSecretFile, EnvMailClientSecret, dir)
	o.ClientSecret = secret
	return err
}

// checkHTTPS reports whether v is an https:// URL with a host.
func checkHTTPS(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https:// URL", v)
	}
	return nil
}
