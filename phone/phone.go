package phone

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalid is wrapped by every error Normalize returns for a number that
// cannot be parsed or is not a valid number.
var ErrInvalid = errors.New("invalid phone number")

const (
	// maxRawLen bounds the input Normalize looks at, in bytes: no
	// registered number with an extension comes close.
	maxRawLen = 128
	// maxDigits bounds the digits of the number part: 15 for E.164 plus
	// room for a trunk 0 or an international call prefix.
	maxDigits = 17
)

// extRE matches a trailing extension: "x123", " ext. 123", "#123", "内線123".
var extRE = regexp.MustCompile(`(?i)^(.*?)[\s,;]*(?:ext\.?|extn\.?|extension|x|#|内線)[\s:.=]*([0-9]{1,10})\s*$`)

// Normalize parses a phone number as Entra stores it and people write it
// ("+81 9012345678", "+81 09012345678", "+81 90-1234-5678", "090-1234-5678"
// with defaultRegion "JP", full-width digits, dots, parentheses, an extension
// "x123" or " ext. 123") and returns it in E.164 form ("+819012345678") with
// the extension digits, if any.
//
// defaultRegion ("JP", "US", …) is the region of numbers written without a
// country code; "" means such numbers are rejected. A number that cannot be
// parsed or is not valid in its region's numbering plan returns an error
// wrapping ErrInvalid; the error says what is wrong and shows at most the
// last two characters of the input.
func Normalize(raw, defaultRegion string) (e164, ext string, err error) {
	digits, ext, why := clean(raw)
	if why != "" {
		return "", "", invalid(raw, why)
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return "", "", fmt.Errorf("normalize phone %s: unknown default region %q", maskTail(raw), defaultRegion)
	}
	if digits[0] != '+' && region == "" {
		return "", "", invalid(raw, "no country code (+…) and no default region")
	}

	n := fastJP(digits, region)
	if n == nil {
		n, err = phonenumbers.Parse(digits, region)
		if err != nil {
			return "", "", invalid(raw, parseReason(err))
		}
		if !phonenumbers.IsValidNumber(n) {
			return "", "", invalid(raw, validityReason(n))
		}
	}
	if ext == "" {
		ext = n.GetExtension()
	}
	return phonenumbers.Format(n, phonenumbers.E164), ext, nil
}

func invalid(raw, why string) error {
	return fmt.Errorf("normalize phone %s: %w: %s", maskTail(raw), ErrInvalid, why)
}

// clean turns raw into "+digits" or "digits" and the extension, or says
// why it cannot.
func clean(raw string) (digits, ext, why string) {
	if len(raw) > maxRawLen {
		return "", "", fmt.Sprintf("too long (%d bytes)", len(raw))
	}
	if !utf8.ValidString(raw) {
		return "", "", "not valid UTF-8"
	}
	s := foldWidth(raw)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", "empty"
	}
	if needsExtScan(s) {
		if m := extRE.FindStringSubmatch(s); m != nil {
			s, ext = strings.TrimSpace(m[1]), m[2]
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			n++
		case r == '+':
			if i != 0 {
				return "", "", "'+' is only allowed before the country code"
			}
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\t':
		default:
			return "", "", fmt.Sprintf("unexpected character %q", r)
		}
	}
	switch {
	case n == 0:
		return "", "", "no digits"
	case n > maxDigits:
		return "", "", fmt.Sprintf("too long (%d digits)", n)
	}
	return b.String(), ext, ""
}

// needsExtScan reports whether s may hold an extension marker: a letter,
// '#' or a non-ASCII rune.
func needsExtScan(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '#' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			return true
		}
	}
	return false
}

// foldWidth applies NFKC (full-width digits and signs to ASCII) and maps
// the dashes people type in Japanese text to '-'. ASCII input is returned
// as is.
func foldWidth(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	s = norm.NFKC.String(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30fc', '\uff70', '\u301c':
			return '-'
		}
		return r
	}, s)
}

// fastJP builds a valid Japanese number without the general parser (which
// runs many regular expressions) for "+81…" and, with region JP, "0…":
// Japanese national significant numbers never start with 0, so the only
// prefix to strip is one trunk 0. It returns nil when the number is anything
// else or not valid, and the caller falls back to the general parser.
func fastJP(digits, region string) *phonenumbers.PhoneNumber {
	var nsn string
	switch {
	case strings.HasPrefix(digits, "+81"):
		nsn = strings.TrimPrefix(digits[3:], "0")
	case region == "JP" && len(digits) > 1 && digits[0] == '0' && digits[1] != '0' && !strings.HasPrefix(digits, "010"):
		nsn = digits[1:]
	default:
		return nil
	}
	if len(nsn) < 2 || len(nsn) > 14 || nsn[0] == '0' {
		return nil
	}
	nn, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return nil
	}
	cc := int32(81)
	n := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
	if !phonenumbers.IsValidNumber(n) {
		return nil
	}
	return n
}

func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown or missing country code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a phone number"
	}
}

func validityReason(n *phonenumbers.PhoneNumber) string {
	cc := int(n.GetCountryCode())
	where := fmt.Sprintf("%s (+%d)", phonenumbers.GetRegionCodeForCountryCode(cc), cc)
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fmt.Sprintf("unknown country code +%d", cc)
	case phonenumbers.TOO_SHORT:
		return "too short for " + where
	case phonenumbers.TOO_LONG:
		return "too long for " + where
	case phonenumbers.INVALID_LENGTH:
		return "wrong length for " + where
	default:
		return "not in a number range in use in " + where
	}
}

// parseE164 turns an E.164 string into a number without the general parser
// when it can, and falls back to it (no default region) otherwise; nil
// means unparsable.
func parseE164(s string) *phonenumbers.PhoneNumber {
	if n := fastE164(s); n != nil {
		return n
	}
	if len(s) > maxRawLen || !strings.HasPrefix(strings.TrimSpace(foldWidth(s)), "+") {
		return nil
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return nil
	}
	return n
}

// fastE164 splits "+<cc><nsn>" by the country code table. Country codes
// are prefix-free, so the first known one is the one. National numbers that
// start with 0 (Italian leading zeros) are left to the general parser.
func fastE164(s string) *phonenumbers.PhoneNumber {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' {
		return nil
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil
		}
	}
	for l := 1; l <= 3 && 1+l < len(s); l++ {
		cc, _ := strconv.Atoi(s[1 : 1+l])
		if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
			continue
		}
		nsn := s[1+l:]
		if nsn[0] == '0' {
			return nil
		}
		nn, err := strconv.ParseUint(nsn, 10, 64)
		if err != nil {
			return nil
		}
		cc32 := int32(cc)
		return &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &nn}
	}
	return nil
}

// Mask formats a number for logs and mails with its middle hidden:
// "+81 90-****-5678" for a Japanese mobile, "+1 425-***-0123" for a US
// number. It keeps the country code, the library's digit grouping, the first
// group when it is short, and at most the last four digits; at least a third
// of the national number is always starred. Input that is not a parsable
// international number gives "***" plus at most its last two characters.
// Mask never returns the full number.
func Mask(e164 string) string {
	n := parseE164(e164)
	if n == nil {
		return maskTail(e164)
	}
	n.Extension = nil
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if nsn == "" {
		return maskTail(e164)
	}
	prefix := "+" + strconv.Itoa(int(n.GetCountryCode())) + " "
	intl := phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
	rest, ok := strings.CutPrefix(intl, prefix)
	if !ok || onlyDigits(rest) != nsn {
		return prefix + maskDigits(nsn, nsn, 0)
	}
	head := 0
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && i <= len(nsn)/3 {
		head = i
	}
	return prefix + maskDigits(rest, nsn, head)
}

// maskDigits copies formatted, replacing the digits at positions
// [head, len(nsn)-tail) of nsn with '*'.
func maskDigits(formatted, nsn string, head int) string {
	n := len(nsn)
	rem := n - head
	tail := min(4, (rem+1)/2, rem-1)
	tail = max(tail, 0)
	var b strings.Builder
	b.Grow(len(formatted))
	i := 0
	for _, r := range formatted {
		if r >= '0' && r <= '9' {
			if i >= head && i < n-tail {
				r = '*'
			}
			i++
		}
		b.WriteRune(r)
	}
	return b.String()
}

func onlyDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// maskTail returns "***" and, for inputs of six characters or more, their
// last two characters when those are plain letters or digits.
func maskTail(s string) string {
	if !utf8.ValidString(s) {
		return "***"
	}
	if utf8.RuneCountInString(s) < 6 {
		return "***"
	}
	tail := s[len(s)-2:]
	for i := 0; i < len(tail); i++ {
		c := tail[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "***"
		}
	}
	return "***" + tail
}

// Carrier returns the original carrier of the number's block as the
// numbering data names it in English ("KDDI", "NTT Docomo", "Softbank",
// "Okinawa Cellular", "Rakuten Communications", …), or "" when the data
// does not know it or e164 cannot be parsed. Numbers move between carriers:
// this is a hint only.
func Carrier(e164 string) string {
	n := parseE164(e164)
	if n == nil {
		return ""
	}
	c, err := phonenumbers.GetCarrierForNumber(n, "en")
	if err != nil {
		return ""
	}
	return c
}

// IsMobile reports whether e164 is a valid mobile number, or a number that
// the numbering plan cannot tell from a fixed line (as in North America).
func IsMobile(e164 string) bool {
	n := parseE164(e164)
	return n != nil && isMobile(n)
}

func isMobile(n *phonenumbers.PhoneNumber) bool {
	t := phonenumbers.GetNumberType(n)
	return t == phonenumbers.MOBILE || t == phonenumbers.FIXED_LINE_OR_MOBILE
}

// Region returns the region e164 belongs to: the region of its country code
// ("JP"), for codes that several regions share (+1) the one whose numbering
// plan fits the number ("US", "CA"), "001" for non-geographic numbers, and
// "" when unknown or unparsable. It does not check that the number is valid.
func Region(e164 string) string {
	n := parseE164(e164)
	if n == nil {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(n)
	if r == phonenumbers.UNKNOWN_REGION {
		return ""
	}
	return r
}
