package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// secret is the SMTP password the tests configure: distinctive enough that
// any appearance in output is a leak.
const secret = "Zq9-hunter2-7YdL0-cw-secret"

// tlsRelay starts an SMTP server that offers STARTTLS and AUTH PLAIN and
// accepts only "carrierwatch" / "the-right-password". Clients started
// after it trust its certificate through SSL_CERT_FILE (so run them as
// subprocesses: the system roots are read once per process).
func tlsRelay(t *testing.T) *smtptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "carrierwatch test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	caFile := filepath.Join(t.TempDir(), "relay-ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", caFile)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return smtptest.Start(t, smtptest.Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		AuthUser:  "carrierwatch", AuthPass: "the-right-password",
	})
}

// secretConfig writes a config whose SMTP password comes from a
// password_file and is wrong, so the relay refuses authentication.
func secretConfig(t *testing.T, feedURL, smtpAddr, logFormat string) string {
	t.Helper()
	path := writeConfig(t, feedURL, smtpAddr, "")
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, "smtp-password"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "tls: none}", "tls: starttls, username: carrierwatch, password_file: smtp-password}", 1)
	s = strings.Replace(s, "log: {format: text, level: warn}", "log: {format: "+logFormat+", level: debug}", 1)
	if !strings.Contains(s, "password_file: smtp-password") || !strings.Contains(s, "level: debug") {
		t.Fatalf("config template changed; cannot set the password file:\n%s", s)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// leaks reports where out contains the secret, raw or in the encodings an
// SMTP trace would carry (AUTH PLAIN and LOGIN are base64).
func leaks(out string) []string {
	forms := map[string]string{
		"raw":               secret,
		"base64":            base64.StdEncoding.EncodeToString([]byte(secret)),
		"AUTH PLAIN base64": base64.StdEncoding.EncodeToString([]byte("\x00carrierwatch\x00" + secret)),
		"first half":        secret[:len(secret)/2],
	}
	var found []string
	for name, f := range forms {
		if strings.Contains(out, f) {
			found = append(found, name)
		}
	}
	return found
}

// authFailure is how the relay's refusal shows (535 5.7.8).
// Not a bare "535": log timestamps (".535Z") and temp paths hold it.
var authFailure = regexp.MustCompile(`535 5\.7\.8|(?i)authentication failed|invalid credentials`)

// TestSecretNeverLogged configures the SMTP password through password_file,
// lets the relay refuse it, and checks that the password is in no log line
// (debug level, text and JSON), no error and no command output.
func TestSecretNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	tests := []struct {
		name, format string
		args         []string
		wantFormat   string // a string every log line of the format has
	}{
		{"once, text logs", "text", []string{"once", "--wait", "1s"}, "level=DEBUG"},
		{"once, json logs", "json", []string{"once", "--wait", "1s"}, `"level":"DEBUG"`},
		{"daemon, --log-format text over json", "json", []string{"run", "--log-format", "text"}, "level=DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feeds := newFeedServer(t, "docomo-network.rdf")
			smtp := tlsRelay(t)
			cfg := secretConfig(t, feeds.URL, smtp.Addr, tt.format)

			c := startChild(t, append(tt.args, "--config", cfg)...)
			if tt.args[0] == "run" {
				waitLog(t, c, authFailure, 30*time.Second)
				if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-c.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("carrierwatch %s did not finish; logs:\n%s", tt.args[0], c.Logs())
			}
			all := c.Logs()
			if got := smtp.Count(); got != 0 {
				t.Fatalf("relay accepted %d mails with a wrong password", got)
			}
			if !authFailure.MatchString(all) {
				t.Fatalf("no authentication failure reported; the test would prove nothing:\n%s", all)
			}
			if !strings.Contains(all, tt.wantFormat) {
				t.Fatalf("logs are not in the expected format (%q):\n%s", tt.wantFormat, all)
			}
			// The commands an admin runs afterwards print nothing secret either.
			for _, args := range [][]string{
				{"check-config", "--config", cfg},
				{"campaigns", "show", "1", "--messages", "--unmask", "--config", cfg},
				{"campaigns", "messages", "--user", "example", "--unmask", "--config", cfg},
			} {
				var o bytes.Buffer
				err := run(context.Background(), args, &o, &o)
				all += "\n" + o.String()
				if err != nil {
					all += "\n" + err.Error()
				}
			}
			if !strings.Contains(all, ": OK (") || !strings.Contains(all, "LAST ERROR") {
				t.Fatalf("admin commands printed nothing useful:\n%s", all)
			}
			if found := leaks(all); len(found) > 0 {
				t.Fatalf("the SMTP password leaked (%v) into:\n%s", found, all)
			}
		})
	}
}
