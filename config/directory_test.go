package config_test

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/config"
)

func TestUnknownDirectoryProvider(t *testing.T) {
	_, err := config.Parse([]byte(minimal + "directory: {provider: ldap}\n"))
	if err == nil || !strings.Contains(err.Error(), `directory.provider: "ldap": want graph or csv`) {
		t.Fatalf("err = %v, want one naming directory.provider", err)
	}
}

func TestDefaultRegion(t *testing.T) {
	for _, r := range []string{"XX", "jp"} {
		_, err := config.Parse([]byte(minimal + "directory: {default_region: " + r + "}\n"))
		if err == nil || !strings.Contains(err.Error(), "directory.default_region: \""+r+"\" is not a region code") {
			t.Errorf("default_region %s: err = %v, want one naming directory.default_region", r, err)
		}
	}
	// National prefixes are read in the default region.
	gb := strings.Replace(minimal, `match: {carriers: ["KDDI"]}`, `match: {prefixes: ["07400"]}`, 1) + "directory: {default_region: GB}\n"
	cfg, err := config.Parse([]byte(gb))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := cfg.Carrier("kddi").Matcher().Match("+447400123456"); !ok {
		t.Error("prefix 07400 in GB does not cover +447400123456")
	}
	jp := strings.Replace(minimal, `match: {carriers: ["KDDI"]}`, `match: {prefixes: ["090"]}`, 1)
	if cfg, err = config.Parse([]byte(jp)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cfg.Carrier("kddi").Matcher().Match("+819012345678"); !ok {
		t.Error("prefix 090 in the default JP does not cover +819012345678")
	}
}
