package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalizePrefix(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		region string
		want   string
	}{
		{"e164 digits", "+8190", "JP", "+8190"},
		{"space after country code", "+81 90", "JP", "+8190"},
		{"trunk 0 after country code", "+81 090", "JP", "+8190"},
		{"national", "090", "JP", "+8190"},
		{"national with hyphen", "090-8", "JP", "+81908"},
		{"full-width", "＋８１ ９０８", "JP", "+81908"},
		{"us area code", "+1 425", "JP", "+1425"},
		{"us national with trunk 1", "1425", "US", "+1425"},
		{"russia keeps its 8", "+7 812", "JP", "+7812"},
		{"lower-case region", "080", "jp", "+8180"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePrefix(tt.in, tt.region)
			if err != nil {
				t.Fatalf("NormalizePrefix(%q, %q): %v", tt.in, tt.region, err)
			}
			if want := tt.want; got != want {
				t.Errorf("NormalizePrefix(%q, %q) = %q, want %q", tt.in, tt.region, got, want)
			}
		})
	}
}

func TestNormalizePrefixInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		region string
		why    string
	}{
		{"empty", "", "JP", "no digits"},
		{"plus only", "+", "JP", "no digits"},
		{"letter", "+8l90", "JP", "unexpected character 'l'"},
		{"country code only", "+81", "JP", "all_mobile"},
		{"trunk 0 only", "0", "JP", "no digits after the country code"},
		{"unknown country code", "+999", "JP", "no known country code"},
		{"national without trunk 0", "90", "JP", `trunk prefix "0" of JP`},
		{"no region", "090", "", "no default region"},
		{"too long", "+81" + strings.Repeat("9", 20), "JP", "longer than"},
		{"wildcard", "+8190*", "JP", "unexpected character '*'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePrefix(tt.in, tt.region)
			if err == nil {
				t.Fatalf("NormalizePrefix(%q) = %q, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
		})
	}
}

func TestKnownCarriers(t *testing.T) {
	got := KnownCarriers()
	for _, want := range []string{"KDDI", "NTT Docomo", "Softbank", "Okinawa Cellular", "Rakuten Communications"} {
		if !slices.Contains(got, want) {
			t.Errorf("KnownCarriers() = %q, missing %q", got, want)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("KnownCarriers() = %q, not sorted", got)
	}
	got[0] = "changed"
	if KnownCarriers()[0] == "changed" {
		t.Error("KnownCarriers returns its internal slice")
	}
}

// TestBlockTable checks that the block table answers what the library's
// lookup answers, for numbers spread over every Japanese mobile range.
func TestBlockTable(t *testing.T) {
	b := blocks()
	for lead := jpLeadFirst; lead <= jpLeadLast; lead++ {
		for i := 0; i < 100000; i += 37 {
			e164 := fmt.Sprintf("+81%d0%05d%03d", lead, i, i%1000)
			slot, ok := jpBlock(e164)
			if !ok {
				t.Fatalf("jpBlock(%q) = false", e164)
			}
			got := ""
			if v := b.table[slot]; v > 0 {
				got = b.names[v-1]
			}
			n, err := phonenumbers.Parse(e164, "")
			if err != nil {
				t.Fatal(err)
			}
			want, _ := phonenumbers.GetCarrierForNumber(n, "en")
			if got != want {
				t.Fatalf("table says %q for %s, the library %q", got, e164, want)
			}
		}
	}
	for _, e164 := range []string{"+8190123", "+819112345678", "+815012345678", "+8290123456789", "+81901x345678"} {
		if _, ok := jpBlock(e164); ok {
			t.Errorf("jpBlock(%q) = true", e164)
		}
	}
}

func TestNewMatcherErrors(t *testing.T) {
	_, err := NewMatcher(MatchSpec{
		Carriers:    []string{"KDD", "KDDI", " "},
		Prefixes:    []string{"+8190", "+8l90", "90"},
		PrefixLines: []string{"# au blocks", "+81908  # ok", "", "+81x"},
		AllMobile:   "XX",
	})
	if err == nil {
		t.Fatal("NewMatcher: no error")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v is not a joined error", err)
	}
	wants := []string{
		`carriers[0]: "KDD" is not a carrier the numbering data knows (known JP carriers: KDDI, NTT Docomo, Okinawa Cellular, Rakuten Communications, Softbank)`,
		`carriers[2]: empty carrier name`,
		`prefixes[1]: "+8l90" is not a phone prefix: unexpected character 'l'`,
		`prefixes[2]: "90" is not a phone prefix`,
		`prefix_lines[3] (line 4): "+81x" is not a phone prefix`,
		`all_mobile: "XX" is not a region code`,
	}
	if got, want := len(joined.Unwrap()), len(wants); got != want {
		t.Errorf("%d problems, want %d:\n%v", got, want, err)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestNewMatcherAllPhonesAlone(t *testing.T) {
	for name, spec := range map[string]MatchSpec{
		"carriers":     {AllPhones: true, Carriers: []string{"KDDI"}},
		"prefixes":     {AllPhones: true, Prefixes: []string{"+8190"}},
		"prefix_files": {AllPhones: true, PrefixLines: []string{"+8190"}},
		"all_mobile":   {AllPhones: true, AllMobile: "JP"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewMatcher(spec)
			if err == nil || !strings.Contains(err.Error(), "all_phones: covers every phone already") {
				t.Errorf("NewMatcher(%+v) error = %v, want the all_phones conflict", spec, err)
			}
		})
	}
	if _, err := NewMatcher(MatchSpec{AllPhones: true, PrefixLines: []string{"# none", ""}}); err != nil {
		t.Errorf("all_phones with a comment-only prefix file: %v", err)
	}
}

func TestNewMatcherEmpty(t *testing.T) {
	for name, spec := range map[string]MatchSpec{
		"zero":          {},
		"comments only": {PrefixLines: []string{"# nothing", "   "}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewMatcher(spec); err == nil || !strings.Contains(err.Error(), "covers no number") {
				t.Errorf("NewMatcher(%+v) error = %v, want 'covers no number'", spec, err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	type probe struct {
		e164   string
		ok     bool
		reason string
	}
	tests := []struct {
		name   string
		spec   MatchSpec
		probes []probe
	}{
		{
			name: "carriers case-insensitive",
			spec: MatchSpec{Carriers: []string{"kddi", "OKINAWA CELLULAR"}},
			probes: []probe{
				{"+819081234567", true, "carrier KDDI"},
				{"+817038012345", true, "carrier Okinawa Cellular"},
				{"+819031234567", false, ""},
				{"+817011012345", false, ""}, // Softbank
				{"+81358001234", false, ""},  // landline
				{"+14255550123", false, ""},
			},
		},
		{
			name: "all phones: any country, any type",
			spec: MatchSpec{AllPhones: true},
			probes: []probe{
				{"+819081234567", true, "all_phones"},  // JP mobile
				{"+81358001234", true, "all_phones"},   // JP landline (office phone)
				{"+14255550123", true, "all_phones"},   // US
				{"+442079460000", true, "all_phones"},  // UK landline
				{"+8190812345678", true, "all_phones"}, // not checked for validity: E164 comes normalised
				{"", false, ""},
				{"09081234567", false, ""}, // not E.164
				{"+81 90", false, ""},
			},
		},
		{
			name: "other carriers",
			spec: MatchSpec{Carriers: []string{"Softbank", "Rakuten Communications", "NTT Docomo"}},
			probes: []probe{
				{"+817011012345", true, "carrier Softbank"},
				{"+817083012345", true, "carrier Rakuten Communications"},
				{"+818025556666", true, "carrier NTT Docomo"},
				{"+819081234567", false, ""},
			},
		},
		{
			name: "prefixes in every form, longest wins",
			spec: MatchSpec{
				Prefixes:    []string{"+81 90", "080-2"},
				PrefixLines: []string{"# extra", "+81 0908 # au", ""},
			},
			probes: []probe{
				{"+819081234567", true, "prefix +81908"},
				{"+819031234567", true, "prefix +8190"},
				{"+818025556666", true, "prefix +81802"},
				{"+818125556666", false, ""},
				{"+8190", true, "prefix +8190"},
				{"+819", false, ""},
			},
		},
		{
			name: "prefix before carrier",
			spec: MatchSpec{Carriers: []string{"KDDI"}, Prefixes: []string{"+819081"}},
			probes: []probe{
				{"+819081234567", true, "prefix +819081"},
				{"+819012345678", true, "carrier KDDI"},
			},
		},
		{
			name: "all mobile JP",
			spec: MatchSpec{AllMobile: "jp"},
			probes: []probe{
				{"+819081234567", true, "all_mobile JP"},
				{"+817011012345", true, "all_mobile JP"},
				{"+818025556666", true, "all_mobile JP"},
				{"+81358001234", false, ""},  // landline
				{"+815012345678", false, ""}, // IP phone
				{"+816012345678", false, ""}, // 060: not in use
				{"+14255550123", false, ""},
			},
		},
		{
			name: "all mobile US shares +1",
			spec: MatchSpec{AllMobile: "US"},
			probes: []probe{
				{"+14255550123", true, "all_mobile US"},
				{"+16135550123", false, ""}, // Canada
				{"+819081234567", false, ""},
			},
		},
		{
			name: "hostile input",
			spec: MatchSpec{Carriers: []string{"KDDI"}, Prefixes: []string{"+8190"}, AllMobile: "JP"},
			probes: []probe{
				{"", false, ""},
				{"+", false, ""},
				{"+8", false, ""},
				{"abc", false, ""},
				{"9081234567", false, ""},
				{"819081234567", false, ""},
				{"+" + strings.Repeat("7", 40), false, ""},
				{"+7" + strings.Repeat("x", 10), false, ""},
				{"☎️📞", false, ""},
				{"\xff\xfe", false, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMatcher(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 { // the second round is answered from the cache
				for _, p := range tt.probes {
					ok, reason := m.Match(p.e164)
					if ok != p.ok || reason != p.reason {
						t.Errorf("round %d: Match(%q) = %v, %q; want %v, %q", round, p.e164, ok, reason, p.ok, p.reason)
					}
				}
			}
		})
	}
}

func TestMatchConcurrent(t *testing.T) {
	m, err := NewMatcher(MatchSpec{Carriers: []string{"KDDI"}, AllMobile: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	for range 4 {
		go func() {
			n := 0
			for _, e := range []string{"+819081234567", "+819031234567", "+81358001234"} {
				for range 200 {
					if ok, _ := m.Match(e); ok {
						n++
					}
				}
			}
			done <- n
		}()
	}
	for range 4 {
		if got, want := <-done, 400; got != want {
			t.Errorf("goroutine matched %d, want %d", got, want)
		}
	}
}
