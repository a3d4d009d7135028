package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
)

func TestRetention(t *testing.T) {
	cfg, err := config.Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Retention, config.DefaultRetention(); got != want ||
		time.Duration(got.Messages) != 400*24*time.Hour || got.Incidents != 0 || time.Duration(got.RemovedUsers) != 30*24*time.Hour {
		t.Fatalf("default retention %+v", got)
	}
	if w := cfg.RetentionWarnings(); len(w) != 0 {
		t.Errorf("warnings for the defaults: %v", w)
	}
	cfg, err = config.Parse([]byte(minimal + "retention: {messages: 5s, incidents: 12h, removed_users: 30d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Retention; time.Duration(r.Messages) != 5*time.Second || time.Duration(r.Incidents) != 12*time.Hour || time.Duration(r.RemovedUsers) != 30*24*time.Hour {
		t.Fatalf("retention %+v", r)
	}
	if w := cfg.RetentionWarnings(); len(w) != 1 || !strings.Contains(w[0], "notify.preparedness_interval") {
		t.Errorf("warnings %v, want one about notify.preparedness_interval", w)
	}
	for _, bad := range []string{"retention: {messages: -5s}", "retention: {removed_users: 3x}", "retention: {keep: 1d}"} {
		_, err := config.Parse([]byte(minimal + bad + "\n"))
		if err == nil {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
