package config_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
)

// corpusNotice is one labelled real notice of testdata/corpus/notices.yaml.
type corpusNotice struct {
	ID        string   `yaml:"id"`
	Carrier   string   `yaml:"carrier"`
	Date      string   `yaml:"date"`
	Wording   string   `yaml:"wording"`
	Source    string   `yaml:"source"`
	Title     string   `yaml:"title"`
	Text      string   `yaml:"text"`
	Verdict   string   `yaml:"verdict"`
	Scope     string   `yaml:"scope"`
	Areas     []string `yaml:"areas"`
	AfterFact bool     `yaml:"after_fact"`
	Service   string   `yaml:"service"`
}

func readCorpus(t *testing.T) []corpusNotice {
	t.Helper()
	b, err := os.ReadFile("../testdata/corpus/notices.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Notices []corpusNotice `yaml:"notices"`
	}
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	return c.Notices
}

// TestCorpus pins the shipped config.yaml on real notices of the four
// carriers: each must get its labelled verdict, scope and areas (and, where
// labelled, its service and whether it was published after the fact).
func TestCorpus(t *testing.T) {
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	notices := readCorpus(t)
	if len(notices) < 120 {
		t.Fatalf("corpus has %d notices, want at least 120", len(notices))
	}
	seen := map[string]bool{}
	count := map[string]int{}
	for _, cn := range notices {
		t.Run(cn.ID, func(t *testing.T) {
			if seen[cn.ID] {
				t.Fatalf("id %s used twice", cn.ID)
			}
			seen[cn.ID] = true
			if cn.Source == "" || cn.Title == "" || cn.Verdict == "" || cn.Scope == "" {
				t.Fatalf("incomplete entry: %+v", cn)
			}
			c := cfg.Carrier(cn.Carrier)
			if c == nil {
				t.Fatalf("carrier %q is not in config.yaml", cn.Carrier)
			}
			date, err := time.Parse(time.DateOnly, cn.Date)
			if err != nil {
				t.Fatalf("date: %v", err)
			}
			n := detector.Notice{Title: detector.Normalize(cn.Title), Text: detector.Normalize(cn.Text)}
			a := c.CompiledRules().Analyze(n, date)
			count[cn.Verdict]++
			if string(a.Verdict) != cn.Verdict {
				t.Errorf("verdict %s (rule %q), want %s\n  title: %s\n  text:  %s", a.Verdict, a.Rule, cn.Verdict, cn.Title, cn.Text)
			}
			if a.Scope != cn.Scope {
				t.Errorf("scope %s %q, want %s", a.Scope, a.Areas, cn.Scope)
			}
			got, want := slices.Sorted(slices.Values(a.Areas)), slices.Sorted(slices.Values(cn.Areas))
			if a.Scope == cn.Scope && !slices.Equal(got, want) {
				t.Errorf("areas %q, want %q", a.Areas, cn.Areas)
			}
			if a.AfterTheFact != cn.AfterFact {
				t.Errorf("after the fact = %v, want %v", a.AfterTheFact, cn.AfterFact)
			}
			if cn.Service != "" && a.Service != cn.Service {
				t.Errorf("service %s, want %s", a.Service, cn.Service)
			}
		})
	}
	t.Logf("corpus: %d notices, by verdict %v", len(notices), count)
}

// TestConfigRulesAreTheDefaults: the rules spelled out in config.yaml are
// the built-in defaults the corpus was checked with, so neither drifts.
func TestConfigRulesAreTheDefaults(t *testing.T) {
	b, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	def := detector.DefaultRules()
	for _, c := range cfg.Carriers {
		got := c.RuleSpec()
		for name, pair := range map[string][2][]string{
			"outage": {got.Outage, def.Outage}, "resolved": {got.Resolved, def.Resolved}, "not_resolved": {got.NotResolved, def.NotResolved},
			"ignore": {got.Ignore, def.Ignore}, "not_mobile": {got.NotMobile, def.NotMobile},
		} {
			if !slices.Equal(pair[0], pair[1]) {
				t.Errorf("carrier %s: rules.%s differ from detector.DefaultRules", c.ID, name)
			}
		}
	}
}
