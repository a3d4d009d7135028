package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/config"
)

// mailConfig writes a minimal config with the given mail section and
// directory section and loads it.
func mailConfig(t *testing.T, directory, mail string) (*config.Config, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("id,upn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mail-secret"), []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `state_dir: state
carriers:
  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]
` + directory + mail
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(path)
}

const csvDirectory = "directory: {provider: csv, csv: {path: users.csv}}\n"

func TestSMTPAuthCombinations(t *testing.T) {
	t.Setenv(config.EnvGraphClientSecret, "")
	t.Setenv(config.EnvMailClientSecret, "")
	tests := []struct {
		name, directory, mail string
		want                  []string // in the error; none: valid
	}{
		{"own application", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: smtp.office365.com, auth: oauth2, username: mfa-noreply@example.ac.jp,
         oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, nil},
		{"directory's application", "directory: {provider: graph, graph: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}\n", `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: smtp.office365.com, auth: oauth2, username: mfa-noreply@example.ac.jp}
`, nil},
		{"no mailbox", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: smtp.office365.com, auth: oauth2, oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, []string{"mail.smtp.username: must be set when mail.smtp.auth is oauth2"}},
		{"no credentials", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: smtp.office365.com, auth: oauth2, username: mfa-noreply@example.ac.jp}
`, []string{"mail.smtp.oauth2: needs tenant_id, client_id"}},
		{"no secret", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: smtp.office365.com, auth: oauth2, username: mfa-noreply@example.ac.jp, oauth2: {tenant_id: t1, client_id: c1}}
`, []string{"mail.smtp.oauth2: one of client_secret_file, client_certificate_file or $" + config.EnvMailClientSecret}},
		{"in the clear", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: relay, tls: none, auth: oauth2, username: a@example.ac.jp, oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, []string{"mail.smtp.tls: must be starttls or tls"}},
		{"password file with oauth2", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: relay, auth: oauth2, username: a@example.ac.jp, password_file: mail-secret, oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, []string{"mail.smtp.password_file: is not used with mail.smtp.auth: oauth2"}},
		{"graph transport", "directory: {provider: graph, graph: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}\n", `mail:
  transport: graph
  from: "IT <mfa-noreply@example.ac.jp>"
  graph: {sender: mfa-noreply@example.ac.jp}
`, nil},
		{"graph transport with its own app", csvDirectory, `mail:
  transport: graph
  from: "IT <mfa-noreply@example.ac.jp>"
  graph: {sender: mfa-noreply@example.ac.jp, oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, nil},
		{"graph transport without a sender", csvDirectory, `mail:
  transport: graph
  from: "IT <mfa-noreply@example.ac.jp>"
  graph: {oauth2: {tenant_id: t1, client_id: c1, client_secret_file: mail-secret}}
`, []string{"mail.graph.sender: must be set when mail.transport is graph"}},
		{"graph transport without credentials", csvDirectory, `mail:
  transport: graph
  from: "IT <mfa-noreply@example.ac.jp>"
  graph: {sender: mfa-noreply@example.ac.jp}
`, []string{"mail.graph.oauth2: needs tenant_id, client_id"}},
		{"unknown auth", csvDirectory, `mail:
  from: "IT <mfa-noreply@example.ac.jp>"
  smtp: {host: relay, auth: basic}
`, []string{`mail.smtp.auth: "basic": want password, oauth2 or none`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := mailConfig(t, tt.directory, tt.mail)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				o := cfg.MailOAuth2()
				if o.TenantID != "t1" || o.ClientID != "c1" || o.ClientSecret != "s3cr3t" {
					t.Errorf("mail credentials = %+v, want t1/c1 with the secret read", o)
				}
				if strings.Contains(o.ClientSecret.String(), "s3cr3t") {
					t.Errorf("the secret prints")
				}
				return
			}
			if err == nil {
				t.Fatal("load accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
