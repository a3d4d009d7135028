package console

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/carrierwatch/carrierwatch/service"
)

// TestEveryMessageInBothLanguages checks that both languages have the same
// keys and that every key a template names exists.
func TestEveryMessageInBothLanguages(t *testing.T) {
	for key := range messages["en"] {
		if _, ok := messages["ja"][key]; !ok {
			t.Errorf("%q has no Japanese", key)
		}
	}
	for key := range messages["ja"] {
		if _, ok := messages["en"][key]; !ok {
			t.Errorf("%q has no English", key)
		}
	}
	literal := regexp.MustCompile(`\bt "([^"]+)"`)
	files, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(templateFS, f)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			if _, ok := messages["en"][m[1]]; !ok {
				t.Errorf("%s uses %q, which has no message", f, m[1])
			}
		}
	}
	for _, k := range []string{"state.", "kind.", "seg."} {
		for _, v := range map[string][]string{
			"state.": {"awaiting_approval", "active", "done", "cancelled", "open", "resolved", "pending", "sending", "sent", "failed"},
			"kind.":  {"outage", "resolved", "preparedness"},
			"seg.":   {"app", "other-phone", "phone-only", "no-address", "none"},
		}[k] {
			if _, ok := messages["en"][k+v]; !ok {
				t.Errorf("no message %q", k+v)
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{fmtNum(13333), "13,333"}, {fmtNum(0), "0"}, {fmtNum(1000000), "1,000,000"}, {fmtNum(-1234), "-1,234"},
		{fmtDuration("en", estimate(13333, service.RelayStatus{RatePerSecond: 20}).Duration), "11 minutes"},
		{fmtDuration("ja", estimate(13333, service.RelayStatus{RatePerSecond: 20}).Duration), "11 分"},
		{fmtDuration("en", estimate(30, service.RelayStatus{RatePerSecond: 20}).Duration), "1 minute"},
		{fmtDuration("en", estimate(100000, service.RelayStatus{RatePerSecond: 0.5}).Duration), "2 days"},
		// Exchange Online: 30 a minute binds, 10,000 a day holds the rest.
		{fmtDuration("en", estimate(13333, service.RelayStatus{RatePerSecond: 20, RatePerMinute: 30, DailyLimit: 10000}).Duration), "1 day"},
		{fmtDuration("en", estimate(600, service.RelayStatus{RatePerSecond: 20, RatePerMinute: 30}).Duration), "20 minutes"},
		{fmtRate(20), "20"}, {fmtRate(0.5), "0.5"}, {fmtRate(1.0 / 3), "0.3"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
