package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/config"
)

func TestHTTPAuthRequiredOffLoopback(t *testing.T) {
	tests := []struct {
		name, http string
		wantErr    string // "" = valid
	}{
		{"loopback v4", `http: {listen: "127.0.0.1:9464"}`, ""},
		{"loopback v6", `http: {listen: "[::1]:9464"}`, ""},
		{"localhost", `http: {listen: "localhost:9464"}`, ""},
		{"disabled", `http: {listen: ""}`, ""},
		{"every address", `http: {listen: ":9464"}`, "http.auth: must be set"},
		{"lan address", `http: {listen: "192.0.2.10:9464"}`, "http.auth: must be set"},
		{"all v4", `http: {listen: "0.0.0.0:9464"}`, "http.auth: must be set"},
		{"proxy", `http: {listen: ":9464", auth: {trusted_proxy: ["127.0.0.1", "10.0.0.0/8"], header: X-Remote-User}}`, ""},
		{"proxy without header", `http: {listen: ":9464", auth: {trusted_proxy: ["10.0.0.0/8"]}}`, "http.auth.header"},
		{"bad proxy", `http: {listen: ":9464", auth: {trusted_proxy: ["10.0.0.0/33"], header: X-User}}`, "http.auth.trusted_proxy"},
		{"both", `http: {listen: ":9464", auth: {users_file: u, trusted_proxy: ["10.0.0.1"], header: X-User}}`, "not both"},
		{"header alone", `http: {listen: "127.0.0.1:1", auth: {header: X-User}}`, "http.auth.header"},
		{"unknown key", `http: {listen: "127.0.0.1:1", auth: {password: x}}`, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(minimal + tt.http + "\n"))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHTTPAuthUsersFileResolved(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("id\n"), 0o600)
	cfgText := minimal + "directory: {provider: csv, csv: {path: users.csv}}\nhttp: {listen: \":9464\", auth: {users_file: console.htpasswd}}\n"
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(cfgText), 0o600)
	if _, err := config.Load(path); err == nil || !strings.Contains(err.Error(), "http.auth.users_file") {
		t.Fatalf("missing users file: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "console.htpasswd"), []byte("alice:$2y$10$abc\n"), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.HTTP.Auth.UsersFile, filepath.Join(dir, "console.htpasswd"); got != want {
		t.Errorf("users_file = %q, want %q", got, want)
	}
}
