package config

import (
	"strings"
	"testing"
)

const publishBase = `
state_dir: /tmp/cw
carriers:
  - id: kddi
    name: au
    match: {carriers: ["KDDI"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]
mail: {from: "IT <it@example.ac.jp>"}
`

func TestPublishValidate(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"off", "", ""},
		{"ok", "publish: {dir: /srv/www/mfa, base_url: \"https://www.example.ac.jp/mfa/\", listen: \"127.0.0.1:8080\"}\n", ""},
		{"bad base", "publish: {dir: /srv/www/mfa, base_url: \"www.example.ac.jp\"}\n", "publish.base_url: \"www.example.ac.jp\" is not an http(s) address"},
		{"base without dir", "publish: {base_url: \"https://www.example.ac.jp/\"}\n", "publish.base_url: is set but publish.dir is not"},
		{"bad listen", "publish: {dir: /srv/www/mfa, listen: \"8080\"}\n", "publish.listen: \"8080\" is not host:port"},
		{"unknown key", "publish: {dirs: x}\n", "unknown field \"dirs\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(publishBase + tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPublishPathsResolved(t *testing.T) {
	p := Publish{Dir: "public", TemplatesDir: "pages"}
	p.resolve("/etc/carrierwatch")
	if p.Dir != "/etc/carrierwatch/public" || p.TemplatesDir != "/etc/carrierwatch/pages" {
		t.Fatalf("resolved %+v", p)
	}
	if got, want := (Publish{BaseURL: "https://x.example/mfa/"}).PageURL("index.html"), "https://x.example/mfa/index.html"; got != want {
		t.Fatalf("PageURL = %q, want %q", got, want)
	}
}

func TestMailReplyToReturnPath(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"mail: {from: \"IT <it@example.ac.jp>\", reply_to: \"Help desk <help@example.ac.jp>\", return_path: bounces@example.ac.jp}\n", ""},
		{"mail: {from: \"IT <it@example.ac.jp>\", reply_to: \"not an address\"}\n", "mail.reply_to: \"not an address\" is not an address"},
		{"mail: {from: \"IT <it@example.ac.jp>\", return_path: \"Bounces <b@example.ac.jp>\"}\n", "mail.return_path: \"Bounces <b@example.ac.jp>\" is not a bare address"},
	} {
		base := strings.Replace(publishBase, "mail: {from: \"IT <it@example.ac.jp>\"}\n", "", 1)
		_, err := Parse([]byte(base + tt.yaml))
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
