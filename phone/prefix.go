package phone

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePrefix turns a number prefix as an admin writes it into the
// leading characters of the E.164 numbers it covers: "+8190", "+81 90",
// "+81 090" (trunk 0 after the country code), "＋８１ ９０" and, with
// defaultRegion "JP", the national "090" all give "+8190". The error says
// what is wrong; it does not repeat the input, which the caller quotes.
func NormalizePrefix(s, defaultRegion string) (string, error) {
	if len(s) > maxRawLen {
		return "", fmt.Errorf("too long")
	}
	t := strings.TrimSpace(foldWidth(s))
	var b strings.Builder
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("unexpected character %q", r)
		}
	}
	digits := b.String()
	if digits == "" {
		return "", fmt.Errorf("no digits")
	}

	var cc int
	var national string
	if strings.HasPrefix(t, "+") {
		for l := 1; l <= 3 && l <= len(digits); l++ {
			c, _ := strconv.Atoi(digits[:l])
			if phonenumbers.GetRegionCodeForCountryCode(c) != phonenumbers.UNKNOWN_REGION {
				cc, national = c, digits[l:]
				break
			}
		}
		if cc == 0 {
			return "", fmt.Errorf("no known country code after '+'")
		}
		// People write "+81 090…": drop a trunk 0 after the country code
		// where the trunk prefix is 0 (never a digit of the number there).
		if phonenumbers.GetNddPrefixForRegion(phonenumbers.GetRegionCodeForCountryCode(cc), true) == "0" {
			national = strings.TrimPrefix(national, "0")
		}
	} else {
		region := strings.ToUpper(strings.TrimSpace(defaultRegion))
		cc = phonenumbers.GetCountryCodeForRegion(region)
		if cc == 0 {
			return "", fmt.Errorf("no country code (+…) and no default region")
		}
		ndd := phonenumbers.GetNddPrefixForRegion(region, true)
		var ok bool
		if national, ok = strings.CutPrefix(digits, ndd); !ok || ndd == "" {
			return "", fmt.Errorf("a national prefix must start with the trunk prefix %q of %s; or write it as +%d…", ndd, region, cc)
		}
	}
	if national == "" {
		return "", fmt.Errorf("no digits after the country code (for every mobile number of a country use all_mobile)")
	}
	full := strconv.Itoa(cc) + national
	if len(full) > 15 {
		return "", fmt.Errorf("longer than an E.164 number")
	}
	return "+" + full, nil
}
