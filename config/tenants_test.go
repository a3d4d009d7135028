package config_test

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/config"
)

func TestAllPhonesCoversEveryNumber(t *testing.T) {
	cfg, err := config.Parse([]byte(strings.Replace(minimal, `match: {carriers: ["KDDI"]}`, `match: {all_phones: true}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Carrier("kddi").Matcher()
	for _, n := range []string{"+819081234567", "+81358001234", "+14255550123"} {
		if ok, reason := m.Match(n); !ok || reason != "all_phones" {
			t.Errorf("Match(%s) = %v %q, want all_phones", n, ok, reason)
		}
	}
}

func TestAllPhonesExcludesNarrowerKeys(t *testing.T) {
	for name, match := range map[string]string{
		"carriers":     `{all_phones: true, carriers: ["KDDI"]}`,
		"prefix_files": `{all_phones: true, prefix_files: ["au.txt"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(strings.Replace(minimal, `{carriers: ["KDDI"]}`, match, 1)))
			if err == nil || !strings.Contains(err.Error(), "carriers[0].match: all_phones: covers every phone already") {
				t.Fatalf("err = %v, want the all_phones conflict at carriers[0].match", err)
			}
		})
	}
}
