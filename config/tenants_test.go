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

func TestStatuspageSource(t *testing.T) {
	provider := strings.Replace(minimal, `match: {carriers: ["KDDI"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]`, `match: {all_phones: true}
    sources: [{type: statuspage, url: "https://status.sms-provider.example", components: [SMS, Voice]}]`, 1)
	cfg, err := config.Parse([]byte(provider))
	if err != nil {
		t.Fatal(err)
	}
	srcs := cfg.Carrier("kddi").DetectorSources()
	if len(srcs) != 1 || srcs[0].Type != "statuspage" || strings.Join(srcs[0].Components, ",") != "SMS,Voice" {
		t.Errorf("detector sources %+v", srcs)
	}
	for name, tt := range map[string]struct{ source, want string }{
		"components on a feed": {`{type: feed, url: "https://example.jp/rss", components: [SMS]}`, "carriers[0].sources[0].components: only for type: statuspage"},
		"a document URL":       {`{type: statuspage, url: "https://status.example.com/api/v2/incidents.json"}`, "base URL"},
		"a blank component":    {`{type: statuspage, url: "https://status.example.com", components: [""]}`, "components[0]: empty name"},
		"a selector":           {`{type: statuspage, url: "https://status.example.com", selector: main}`, "only for type page"},
		"an unknown type":      {`{type: atom, url: "https://status.example.com"}`, "want feed, page or statuspage"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(minimal, `[{type: feed, url: "https://example.jp/rss"}]`, "["+tt.source+"]", 1)
			if _, err := config.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
