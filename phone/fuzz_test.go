package phone

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

var fuzzSeeds = []string{
	"+81 9012345678", "+81 09012345678", "+81 90-1234-5678", "090-1234-5678",
	"＋８１ ９０１２３４５６７８", "+81 358001234x123", "+1 425 555 0123 ext. 45",
	"+390612345678", "+442079460958", "+8118003569377", "010 81 90 1234 5678",
	"", "+", "abc", "+8l90", strings.Repeat("9", 40), "☎️📞", "\xff", "+81 0", "0", "00",
	"+81 00012345", "+0", "+1", "+999 1",
}

// FuzzNormalize checks that Normalize never panics, that what it accepts is
// E.164 and stable, that the fast Japanese path agrees with the general
// parser, and that errors wrap ErrInvalid without echoing the number.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e164, _, err := Normalize(raw, "JP")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q): %v does not wrap ErrInvalid", raw, err)
			}
			d := onlyDigits(foldWidth(raw))
			if len(d) >= 6 && strings.Contains(err.Error(), d[len(d)-6:]) {
				t.Fatalf("Normalize(%q): error %q echoes the number", raw, err)
			}
			return
		}
		if len(e164) < 3 || len(e164) > 16 || e164[0] != '+' || onlyDigits(e164) != e164[1:] {
			t.Fatalf("Normalize(%q) = %q, not E.164", raw, e164)
		}
		again, _, err := Normalize(e164, "")
		if err != nil || again != e164 {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", raw, e164, e164, again, err)
		}

		// The fast path must agree with the general parser.
		digits, _, why := clean(raw)
		if why != "" {
			t.Fatalf("Normalize(%q) accepted what clean rejects: %s", raw, why)
		}
		if fast := fastJP(digits, "JP"); fast != nil {
			slow, err := phonenumbers.Parse(digits, "JP")
			if err != nil || !phonenumbers.IsValidNumber(slow) {
				t.Fatalf("fast path accepts %q, the parser does not (%v)", raw, err)
			}
			if got, want := phonenumbers.Format(fast, phonenumbers.E164), phonenumbers.Format(slow, phonenumbers.E164); got != want {
				t.Fatalf("fast path gives %q for %q, the parser %q", got, raw, want)
			}
		}
	})
}

// FuzzMask checks that Mask never panics and never shows the middle of a
// national number: after the country code, the digits it shows are the
// number's own, in place, with a non-empty run of at least a third of them
// starred. Unparsable input shows at most two characters.
func FuzzMask(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
		if e, _, err := Normalize(s, "JP"); err == nil {
			f.Add(e)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := Mask(in)
		n := parseE164(in)
		if n == nil {
			if !strings.HasPrefix(got, "***") || len(got) > 5 {
				t.Fatalf("Mask(%q) = %q, want *** and at most two characters", in, got)
			}
			return
		}
		nsn := phonenumbers.GetNationalSignificantNumber(n)
		prefix := "+" + strconv.Itoa(int(n.GetCountryCode())) + " "
		rest, ok := strings.CutPrefix(got, prefix)
		if !ok {
			t.Fatalf("Mask(%q) = %q, want prefix %q", in, got, prefix)
		}
		var seq []byte
		for i := 0; i < len(rest); i++ {
			if c := rest[i]; c == '*' || c >= '0' && c <= '9' {
				seq = append(seq, c)
			}
		}
		if len(seq) != len(nsn) {
			t.Fatalf("Mask(%q) = %q: %d digit places, national number has %d", in, got, len(seq), len(nsn))
		}
		stars, first, last := 0, -1, -1
		for i, c := range seq {
			if c == '*' {
				stars++
				if first < 0 {
					first = i
				}
				last = i
				continue
			}
			if c != nsn[i] {
				t.Fatalf("Mask(%q) = %q: digit %d is not the number's", in, got, i)
			}
		}
		if stars == 0 || last-first+1 != stars || stars < max(1, len(nsn)/3) {
			t.Fatalf("Mask(%q) = %q hides too little of %d digits", in, got, len(nsn))
		}
	})
}
