package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
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
// mail.smtp.oauth2 when it names an application, else directory.graph's.
// Resolve has read the secrets of both.
func (c *Config) MailOAuth2() OAuth2 {
	if o := c.Mail.SMTP.OAuth2; o.own() {
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
		o := c.MailOAuth2()
		path := "mail.smtp.oauth2"
		if !s.OAuth2.own() {
			path = "directory.graph"
			if c.Directory.Graph.TenantID == "" && c.Directory.Graph.ClientID == "" {
				add("mail.smtp.oauth2", "needs tenant_id, client_id and a client secret or certificate, or directory.graph's (directory.provider: graph)")
				break
			}
		}
		if o.TenantID == "" {
			add(path+".tenant_id", "must be set for mail.smtp.auth: oauth2")
		}
		if o.ClientID == "" {
			add(path+".client_id", "must be set for mail.smtp.auth: oauth2")
		}
		if o.ClientSecretFile != "" && o.ClientCertificateFile != "" {
			add(path, "at most one of client_secret_file & client_certificate_file")
		}
		env := EnvMailClientSecret
		if !s.OAuth2.own() {
			env = EnvGraphClientSecret
		}
		if o.ClientSecretFile == "" && o.ClientCertificateFile == "" && os.Getenv(env) == "" {
			add(path, "one of client_secret_file, client_certificate_file or $%s is needed for mail.smtp.auth: oauth2", env)
		}
		switch o.Cloud {
		case "", "global", "usgov", "china":
		default:
			add(path+".cloud", "%q: want global, usgov or china", o.Cloud)
		}
		if v := s.OAuth2.AuthorityHost; v != "" && checkHTTPS(v) != nil {
			add("mail.smtp.oauth2.authority_host", "%q must be an https:// URL", v)
		}
	default:
		add("mail.smtp.auth", "%q: want password, oauth2 or none", s.Auth)
	}
	return errs
}

// EnvMailClientSecret holds mail.smtp.oauth2's client secret when it has no
// client_secret_file.
const EnvMailClientSecret = "CARRIERWATCH_MAIL_CLIENT_SECRET"

// resolveSMTPAuth reads mail.smtp.oauth2's secrets (directory.graph's are
// read with the directory's).
func (c *Config) resolveSMTPAuth(dir string) error {
	o := &c.Mail.SMTP.OAuth2
	if c.SMTPAuth() != SMTPAuthOAuth2 {
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
			errs = append(errs, fmt.Errorf("mail.smtp.oauth2.client_certificate_file: %w", err))
		}
		o.ClientCertificate = b
		pw, err := readSecret("mail.smtp.oauth2.client_certificate_password_file", o.ClientCertificatePasswordFile, "", dir)
		errs = append(errs, err)
		o.ClientCertificatePassword = pw
		return errors.Join(errs...)
	}
	secret, err := readSecret("mail.smtp.oauth2.client_secret_file", o.ClientSecretFile, EnvMailClientSecret, dir)
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
