package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/internal/fixtures"
)

func TestRepositoryConfigIsValid(t *testing.T) {
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if got, want := len(cfg.Carriers), 4; got != want {
		t.Fatalf("carriers = %d, want %d (au, docomo, SoftBank, Rakuten)", got, want)
	}
	for _, c := range cfg.Carriers {
		if len(c.Sources) == 0 {
			t.Errorf("carrier %s has no sources", c.ID)
		}
	}
}

// TestRepositoryRulesOnFixtures checks the shipped Japanese rules against
// every sample notice.
func TestRepositoryRulesOnFixtures(t *testing.T) {
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	rules := cfg.Carrier("kddi").CompiledRules()
	tests := []struct {
		file, typ, selector string
		want                []detector.Verdict // per notice, in document order
	}{
		{"feeds/docomo-network.rdf", "feed", "", []detector.Verdict{detector.VerdictOutage, detector.VerdictNotResolved, detector.VerdictIgnored}},
		{"feeds/docomo-network-recovered.rdf", "feed", "", []detector.Verdict{detector.VerdictResolved, detector.VerdictNotResolved, detector.VerdictOutage}},
		{"feeds/softbank-style.rss", "feed", "", []detector.Verdict{detector.VerdictResolved, detector.VerdictOutage}},
		{"feeds/mvno-shiftjis.rss", "feed", "", []detector.Verdict{detector.VerdictOutage}},
		{"pages/kddi-notice-1-outage.html", "page", "main", []detector.Verdict{detector.VerdictOutage}},
		{"pages/kddi-notice-2-partial.html", "page", "main", []detector.Verdict{detector.VerdictNotResolved}},
		{"pages/kddi-notice-3-recovered.html", "page", "main", []detector.Verdict{detector.VerdictResolved}},
	}
	// Notices that must not open an incident.
	for text, want := range map[string]detector.Verdict{
		"通信障害に関するお詫びと返金について":      detector.VerdictIgnored,
		"7月2日に発生した通信障害の原因と対策について": detector.VerdictIgnored,
		"【お詫び】ご請求書の記載誤りについて":      detector.VerdictNone,
	} {
		if v, rule := rules.ClassifyNotice(detector.Notice{Title: detector.Normalize(text)}); v != want {
			t.Errorf("%q: verdict %s (rule %q), want %s", text, v, rule, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := fixtures.Read(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			ns, err := detector.Parse(detector.Source{ID: "t", Type: tt.typ, URL: "https://example.jp/", Selector: tt.selector}, body, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != len(tt.want) {
				t.Fatalf("%d notices, want %d", len(ns), len(tt.want))
			}
			for i, n := range ns {
				if v, rule := rules.ClassifyNotice(n); v != tt.want[i] {
					t.Errorf("notice %d %q: verdict %s (rule %q), want %s", i, n.Title, v, rule, tt.want[i])
				}
			}
		})
	}
}

const minimal = `
state_dir: /tmp/cw
carriers:
  - id: kddi
    name: au
    match: {carriers: ["KDDI"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]
mail: {from: "IT <it@example.ac.jp>"}
`

func TestParseMinimalUsesDefaults(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Schedule.Poll != "@every 1m" || cfg.Mail.Concurrency != 2 || cfg.Notify.DefaultLanguage != "ja" || cfg.HTTP.Listen != "127.0.0.1:9464" {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if cfg.Carrier("kddi").CompiledRules() == nil {
		t.Fatal("empty rules did not fall back to the defaults")
	}
}

func TestParseReportsEveryProblemWithItsPath(t *testing.T) {
	bad := `
state_dir: /tmp/cw
schedule: {poll: "every minute"}
carriers:
  - id: kddi
    name: au
    match: {carriers: ["KDDI"], prefixes: ["+8l90"], all_mobile: "XX"}
    sources: [{type: rss, url: "ftp://x"}]
    rules: {outage: ["re:("]}
mail: {from: "IT <it@example.ac.jp>", transport: pigeon, concurrency: 0}
notify: {deliver_to: [elsewhere], default_language: fr}
`
	_, err := config.Parse([]byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"schedule.poll", "carriers[0].match", "prefixes[0]", "all_mobile", "carriers[0].sources[0].type",
		"carriers[0].sources[0].url", "carriers[0].rules", "outage[0]", "mail.transport", "mail.concurrency",
		"notify.deliver_to[0]", "notify.default_language",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestUnknownKeyAndInvalidValuesReportedTogether(t *testing.T) {
	bad := strings.Replace(minimal, "sources:", "colour: blue\n    sources:", 1) + "schedule: {poll: \"sometimes\"}\n"
	_, err := config.Parse([]byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"colour", "schedule.poll"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	_, err := config.Parse([]byte(minimal + "notify: {require_aproval: true}\n"))
	if err == nil || !strings.Contains(err.Error(), "require_aproval") {
		t.Fatalf("unknown key: err = %v", err)
	}
}

func TestLoadReadsSecretsAndNeverShowsThem(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cr3t-Pa55word"
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText := minimal + "directory: {provider: csv, csv: {path: users.csv}}\n"
	cfgText = strings.Replace(cfgText, `mail: {from: "IT <it@example.ac.jp>"}`,
		`mail: {from: "IT <it@example.ac.jp>", smtp: {username: it, password_file: pw}}`, 1)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("id\n"), 0o600)
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(cfgText), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Mail.SMTP.Password) != secret {
		t.Fatalf("password not read")
	}
	for _, s := range []string{cfg.Mail.SMTP.Password.String(), strings.Join(strings.Fields(sprint(cfg)), " ")} {
		if strings.Contains(s, secret) {
			t.Fatalf("secret printed: %s", s)
		}
	}
	// A missing secret file is an error naming the key, not the secret.
	os.Remove(filepath.Join(dir, "pw"))
	_, err = config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "mail.smtp.password_file") {
		t.Fatalf("missing password file: err = %v", err)
	}
}

func TestLoadMissingCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(minimal+"directory: {provider: csv, csv: {path: nope.csv}}\n"), 0o600)
	_, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "directory.csv.path") {
		t.Fatalf("err = %v", err)
	}
}
