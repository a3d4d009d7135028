package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/fixtures"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// feedServer serves a notice fixture at /feed (a shared one from
// internal/fixtures, else one in testdata; file switches it), garbage
// bytes at /garbage and 404 elsewhere.
type feedServer struct {
	*httptest.Server
	file atomic.Value
}

func newFeedServer(t testing.TB, file string) *feedServer {
	t.Helper()
	fs := &feedServer{}
	fs.file.Store(file)
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed":
		case "/garbage":
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte("\x00\xff<rss><channel><item><title>\xfe\xfe"))
			return
		default:
			http.NotFound(w, r)
			return
		}
		name := fs.file.Load().(string)
		b, err := fixtures.Read(name)
		if err != nil {
			b, err = os.ReadFile(filepath.Join("testdata", name))
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/rdf+xml")
		w.Write(b)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// writeConfig writes a config for the e2e tests into a temp dir.
func writeConfig(t *testing.T, feedURL, smtpAddr, extra string) string {
	t.Helper()
	dir := t.TempDir()
	users, err := os.ReadFile("testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), users, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(smtpAddr, ":")
	cfg := fmt.Sprintf(`state_dir: state
http: {listen: ""}
log: {format: text, level: warn}
carriers:
  - id: kddi
    name: au / UQ mobile / povo
    match: {prefixes: ["+81908", "+81802"]}
    sources:
      - {type: feed, url: "%s/feed", max_age: 9000d} # the fixtures are of 2021
directory:
  provider: csv
  csv: {path: users.csv}
mail:
  transport: smtp
  from: "IT Help <mfa-noreply@example.ac.jp>"
  smtp: {host: %s, port: %s, tls: none}
  rate_per_second: 0
notify:
  links: {support_form: "https://support.example.ac.jp/mfa"}
%s`, feedURL, host, port, extra)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err != nil {
		t.Logf("%v: stderr:\n%s", args, errOut.String())
	}
	return out.String() + errOut.String(), err
}

type got struct {
	kind, segment, incident, lang string
	to                            []string
}

func received(srv *smtptest.Server) []got {
	var out []got
	for _, m := range srv.Messages() {
		lang := m.Header.Get("Content-Language")
		out = append(out, got{
			kind: m.Header.Get("X-Carrierwatch-Kind"), segment: m.Header.Get("X-Carrierwatch-Segment"),
			incident: m.Header.Get("X-Carrierwatch-Incident"), lang: lang, to: m.To,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].to[0] < out[j].to[0] })
	return out
}

func TestOnceEndToEnd(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")

	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatalf("first once: %v", err)
	}
	want := []got{
		{"outage", "app", "1", "en", []string{"alex.smith@mail.example.org", "smith@example.ac.jp"}},
		{"outage", "other-phone", "1", "ja", []string{"aya.ueda@mail.example.com", "ueda@example.ac.jp"}},
		{"outage", "phone-only", "1", "ja", []string{"hanako.aoki@mail.example.com", "aoki@example.ac.jp"}},
		{"outage", "app", "1", "ja", []string{"ito@example.ac.jp"}},
		{"outage", "phone-only", "1", "ja", []string{"sho.sato@mail.example.com", "sato@example.ac.jp"}},
		{"outage", "phone-only", "1", "ja", []string{"you.ota@mail.example.com", "ota@example.ac.jp"}},
	}
	if g := received(smtp); !equalGot(g, want) {
		t.Fatalf("after first once got\n%v\nwant\n%v", g, want)
	}

	// Nothing new: a second run sends nothing.
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatalf("second once: %v", err)
	}
	if n := smtp.Count(); n != len(want) {
		t.Fatalf("second once sent %d more mails", n-len(want))
	}
	// 【一部回復】 was in the first feed: the incident is still open.
	out, err := runCmd(t, "incidents", "list", "--open", "--config", cfg)
	if err != nil || !strings.Contains(out, "open") {
		t.Fatalf("incident not open after 一部回復: %v\n%s", err, out)
	}

	// 【復旧】: resolved, and everyone notified gets the follow-up.
	feeds.file.Store("docomo-network-recovered.rdf")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatalf("third once: %v", err)
	}
	var resolved []got
	for _, g := range received(smtp) {
		if g.kind == "resolved" {
			resolved = append(resolved, g)
		}
	}
	if got, want := len(resolved), len(want); got != want {
		t.Fatalf("resolved mails = %d, want %d", got, want)
	}
	out, _ = runCmd(t, "incidents", "list", "--open", "--config", cfg)
	if strings.Contains(out, "kddi") {
		t.Fatalf("incident still open after 【復旧】:\n%s", out)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 2*len(want) {
		t.Fatalf("after the incident: %d mails in all, want %d", n, 2*len(want))
	}
}

func equalGot(a, b []got) bool {
	sort.Slice(b, func(i, j int) bool { return b[i].to[0] < b[j].to[0] })
	return slices.EqualFunc(a, b, func(x, y got) bool {
		return x.kind == y.kind && x.segment == y.segment && x.incident == y.incident && x.lang == y.lang && slices.Equal(x.to, y.to)
	})
}
