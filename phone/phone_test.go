package phone

import (
	stdcsv "encoding/csv"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		e164   string
		ext    string
	}{
		{"entra form", "+81 9012345678", "", "+819012345678", ""},
		{"entra form with JP default", "+81 9012345678", "JP", "+819012345678", ""},
		{"trunk 0 after country code", "+81 09012345678", "", "+819012345678", ""},
		{"hyphens after country code", "+81 90-1234-5678", "", "+819012345678", ""},
		{"national with hyphens", "090-1234-5678", "JP", "+819012345678", ""},
		{"national plain", "09012345678", "JP", "+819012345678", ""},
		{"lower-case region", "090-1234-5678", "jp", "+819012345678", ""},
		{"full-width", "＋８１ ９０－１２３４－５６７８", "", "+819012345678", ""},
		{"full-width national, katakana dashes", "０９０ー１２３４ー５６７８", "JP", "+819012345678", ""},
		{"ideographic space", "+81\u300090\u30001234\u30005678", "", "+819012345678", ""},
		{"dots and parentheses", "+81 (90) 1234.5678", "", "+819012345678", ""},
		{"no space", "+819012345678", "", "+819012345678", ""},
		{"tokyo landline", "+81 358001234", "", "+81358001234", ""},
		{"tokyo landline national", "03-5800-1234", "JP", "+81358001234", ""},
		{"extension x", "+81 358001234x123", "", "+81358001234", "123"},
		{"extension space x", "+81 358001234 x123", "", "+81358001234", "123"},
		{"extension ext.", "+81 3-5800-1234 ext. 45", "", "+81358001234", "45"},
		{"extension full-width 内線", "０３－５８００－１２３４ 内線 ７７", "JP", "+81358001234", "77"},
		{"extension hash", "+1 425 555 0123 #9", "", "+14255550123", "9"},
		{"extension rfc 3966 style", "+81-3-5800-1234;ext=88", "", "+81358001234", "88"},
		{"us", "+1 4255550123", "JP", "+14255550123", ""},
		{"us formatted", "+1 (425) 555-0123", "", "+14255550123", ""},
		{"uk with trunk 0", "+44 020 7946 0958", "", "+442079460958", ""},
		{"italy leading zero", "+39 06 1234 5678", "", "+390612345678", ""},
		{"international call prefix from japan", "010 81 90 1234 5678", "JP", "+819012345678", ""},
		{"surrounding spaces", "  +81 9012345678\t", "", "+819012345678", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e164, ext, err := Normalize(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("Normalize(%q, %q): %v", tt.raw, tt.region, err)
			}
			if got, want := e164, tt.e164; got != want {
				t.Errorf("e164 = %q, want %q", got, want)
			}
			if got, want := ext, tt.ext; got != want {
				t.Errorf("ext = %q, want %q", got, want)
			}
		})
	}
}

func TestNormalizeInvalid(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		why    string // substring of the error
	}{
		{"empty", "", "JP", "empty"},
		{"spaces only", "   ", "JP", "empty"},
		{"letters", "abcdefgh", "JP", "unexpected character"},
		{"letter l for 1", "+8l 9012345678", "JP", `unexpected character 'l'`},
		{"vanity number", "1-800-FLOWERS", "US", "unexpected character"},
		{"plus only", "+", "JP", "no digits"},
		{"double plus", "++81 9012345678", "JP", "'+' is only allowed"},
		{"plus in the middle", "81+9012345678", "JP", "'+' is only allowed"},
		{"40 digits", strings.Repeat("1234567890", 4), "JP", "too long (40 digits)"},
		{"200 bytes", strings.Repeat("9", 200), "JP", "too long (200 bytes)"},
		{"unicode junk", "☎️📞🙂", "JP", "unexpected character"},
		{"control character", "+81 90\x001234 5678", "JP", "unexpected character"},
		{"invalid utf-8", "+81 90\xff\xfe", "JP", "not valid UTF-8"},
		{"too short mobile", "+81 90-1234", "JP", "too short for JP (+81)"},
		{"too long mobile", "+81 90-1234-5678-9", "JP", "+81"},
		{"060 not in use", "+81 6012345678", "JP", "not in a number range in use in JP (+81)"},
		{"unknown country code", "+999 123456789", "JP", "country code"},
		{"national without region", "090-1234-5678", "", "no country code"},
		{"national for another region", "090-1234-5678", "US", "US (+1)"},
		{"extension only", "x123", "JP", "no digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e164, ext, err := Normalize(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, %q; want an error", tt.raw, e164, ext)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			assertNoDigitRun(t, err.Error(), tt.raw)
		})
	}
}

func TestNormalizeBadRegion(t *testing.T) {
	_, _, err := Normalize("090-1234-5678", "XX")
	if err == nil {
		t.Fatal("Normalize with region XX: no error")
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("a bad default region is the caller's mistake, not an invalid number: %v", err)
	}
}

// assertNoDigitRun fails when msg contains the digits of raw (six or more)
// in a row.
func assertNoDigitRun(t *testing.T, msg, raw string) {
	t.Helper()
	d := onlyDigits(foldWidth(raw))
	if len(d) >= 6 && strings.Contains(onlyDigits(msg), d) {
		t.Errorf("%q echoes the number %q", msg, raw)
	}
	if len(d) >= 6 && strings.Contains(msg, d[len(d)-6:]) {
		t.Errorf("%q echoes the end of %q", msg, raw)
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"jp mobile", "+819012345678", "+81 90-****-5678"},
		{"jp mobile 080", "+818025556666", "+81 80-****-6666"},
		{"jp landline", "+81358001234", "+81 3-****-1234"},
		{"jp formatted input", "+81 90-1234-5678", "+81 90-****-5678"},
		{"jp with extension", "+81358001234x12", "+81 3-****-1234"},
		{"us", "+14255550123", "+1 425-***-0123"},
		{"uk", "+442079460958", "+44 20 **** 0958"},
		{"france", "+33612345678", "+33 6 ** ** 56 78"},
		{"italy leading zero", "+390612345678", "+39 06 **** 5678"},
		{"germany short", "+4930123456", "+49 30 ***456"},
		{"invalid but parsable", "+8118003569377", "+81 *******9377"},
		{"empty", "", "***"},
		{"plus", "+", "***"},
		{"short junk", "12", "***"},
		{"national number", "09012345678", "***78"},
		{"letters", "hello world", "***ld"},
		{"junk tail", "+81 90-1234-567☎", "***"},
		{"forty digits", "+" + strings.Repeat("1234567890", 4), "***90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Mask(tt.in), tt.want; got != want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, want)
			}
			assertNoDigitRun(t, Mask(tt.in), tt.in)
		})
	}
}

func TestClassifyHostile(t *testing.T) {
	for _, in := range []string{"", "+", "abc", "+81", "819012345678", "+" + strings.Repeat("9", 40), "☎️", "\xff"} {
		t.Run(in, func(t *testing.T) {
			if got := Carrier(in); got != "" {
				t.Errorf("Carrier(%q) = %q, want \"\"", in, got)
			}
			if IsMobile(in) {
				t.Errorf("IsMobile(%q) = true", in)
			}
			if got := Region(in); got != "" {
				t.Errorf("Region(%q) = %q, want \"\"", in, got)
			}
		})
	}
}

// fixturePhone is what we expect for one phone of testdata/users.csv,
// written by hand from the fixture's README and the national numbering
// data, not computed by the code under test.
type fixturePhone struct {
	e164    string
	carrier string
	mobile  bool
	region  string
	mask    string
	kddi    bool   // covered by match.carriers ["KDDI"]
	prefix  string // reason with prefixes +81908, +81802 ("" = not covered)
}

var fixturePhones = map[string]fixturePhone{ // key: id/type
	"0001/mobile":          {"+819081234567", "KDDI", true, "JP", "+81 90-****-4567", true, "prefix +81908"},
	"0002/mobile":          {"+819081112222", "KDDI", true, "JP", "+81 90-****-2222", true, "prefix +81908"},
	"0003/mobile":          {"+818025556666", "NTT Docomo", true, "JP", "+81 80-****-6666", false, "prefix +81802"},
	"0003/alternateMobile": {"+819031234567", "NTT Docomo", true, "JP", "+81 90-****-4567", false, ""},
	"0004/mobile":          {"+819031239999", "NTT Docomo", true, "JP", "+81 90-****-9999", false, ""},
	"0005/mobile":          {"+819081239876", "KDDI", true, "JP", "+81 90-****-9876", true, "prefix +81908"},
	"0006/office":          {"+81358001234", "", false, "JP", "+81 3-****-1234", false, ""},
	"0007/mobile":          {"+818029871234", "NTT Docomo", true, "JP", "+81 80-****-1234", false, "prefix +81802"},
	"0009/mobile":          {"+14255550123", "", true, "US", "+1 425-***-0123", false, ""},
	"0010/mobile":          {"+819087654321", "NTT Docomo", true, "JP", "+81 90-****-4321", false, "prefix +81908"},
}

// readFixturePhones returns every phone of testdata/users.csv as
// "id/type" → raw number.
func readFixturePhones(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := stdcsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		for item := range strings.SplitSeq(r[col["phones"]], ";") {
			if item == "" {
				continue
			}
			typ, raw, ok := strings.Cut(item, ":")
			if !ok {
				t.Fatalf("fixture phone %q has no type", item)
			}
			out[r[col["id"]]+"/"+typ] = raw
		}
	}
	return out
}

func TestFixtureUsers(t *testing.T) {
	phones := readFixturePhones(t)
	if got, want := len(phones), len(fixturePhones); got != want {
		t.Errorf("fixture has %d phones, the table %d", got, want)
	}
	kddi, err := NewMatcher(MatchSpec{Carriers: []string{"KDDI"}})
	if err != nil {
		t.Fatal(err)
	}
	prefixes, err := NewMatcher(MatchSpec{Prefixes: []string{"+81908", "+81802"}})
	if err != nil {
		t.Fatal(err)
	}
	for key, raw := range phones {
		t.Run(key, func(t *testing.T) {
			want, ok := fixturePhones[key]
			if !ok {
				t.Fatalf("phone %s (%s) is not in the table", key, Mask(raw))
			}
			e164, ext, err := Normalize(raw, "JP")
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got, want := e164, want.e164; got != want {
				t.Errorf("e164 = %q, want %q", got, want)
			}
			if ext != "" {
				t.Errorf("ext = %q, want none", ext)
			}
			if got, want := Carrier(e164), want.carrier; got != want {
				t.Errorf("Carrier = %q, want %q (the fixture README and the numbering data disagree)", got, want)
			}
			if got, want := IsMobile(e164), want.mobile; got != want {
				t.Errorf("IsMobile = %v, want %v", got, want)
			}
			if got, want := Region(e164), want.region; got != want {
				t.Errorf("Region = %q, want %q", got, want)
			}
			if got, want := Mask(e164), want.mask; got != want {
				t.Errorf("Mask = %q, want %q", got, want)
			}
			ok, reason := kddi.Match(e164)
			if got, want := ok, want.kddi; got != want {
				t.Errorf("carriers [KDDI] Match = %v (%q), want %v", got, reason, want)
			}
			if ok && reason != "carrier KDDI" {
				t.Errorf("carriers [KDDI] reason = %q", reason)
			}
			ok, reason = prefixes.Match(e164)
			if got, want := reason, want.prefix; got != want || ok != (want != "") {
				t.Errorf("prefixes Match = %v, %q; want %q", ok, got, want)
			}
		})
	}
}
