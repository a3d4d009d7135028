package detector

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTextRunes is the most runes Normalize returns.
const MaxTextRunes = 4000

// preSlack bounds how much raw input is looked at: at most this many
// non-space runes per output rune. NFKC shrinks text by composing at most a
// few runes into one, so the slack never changes the result; it only keeps a
// multi-megabyte page from being normalised in full.
const preSlack = 8

// Normalize returns s in NFKC form with invalid UTF-8 replaced by U+FFFD,
// control characters (CR, LF and TAB included) and every other kind of
// whitespace turned into single spaces, format characters (zero-width space,
// BOM, bidi marks) dropped, leading and trailing spaces trimmed, and cut to at
// most MaxTextRunes runes. It is pure and safe for any input.
func Normalize(s string) string {
	return normalize(s, MaxTextRunes)
}

// normalize is Normalize with a rune limit of max.
func normalize(s string, max int) string {
	if s == "" || max <= 0 {
		return ""
	}
	// Phase 1: clean runes, bounded so that huge inputs cost little.
	var b strings.Builder
	b.Grow(min(len(s), max*3+16))
	budget := max*preSlack + 64
	for i := 0; i < len(s) && budget > 0; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
			budget--
		case unicode.IsControl(r) || unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Cf, r):
			// Dropped: invisible, and would let "ご利\u200b用" evade a rule.
		default:
			b.WriteRune(r)
			budget--
		}
	}
	// Phase 2: NFKC. Phase 3: collapse whitespace, trim, cut.
	n := norm.NFKC.String(b.String())
	var out strings.Builder
	out.Grow(min(len(n), max*3+16))
	count, space := 0, false
	for _, r := range n {
		switch {
		case unicode.IsControl(r) || unicode.IsSpace(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		}
		if space && count > 0 {
			if count+1 >= max {
				break
			}
			out.WriteByte(' ')
			count++
		}
		space = false
		out.WriteRune(r)
		count++
		if count >= max {
			break
		}
	}
	return out.String()
}
