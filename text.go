package carrierwatch

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var spaceRuns = regexp.MustCompile(`[\p{Zs}\s]+`)

// OneLine makes s one line of at most max runes, for a header, a log line
// or a mail: invalid UTF-8 becomes U+FFFD, control and line-separator
// characters become spaces, runs of white space one space (a lone
// ideographic space U+3000 is kept: it is Japanese typography), the ends
// are trimmed, and a longer result is cut with "…".
func OneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(spaceRuns.ReplaceAllStringFunc(s, func(m string) string {
		if m == "\u3000" {
			return m
		}
		return " "
	}))
	if max > 0 && utf8.RuneCountInString(s) > max {
		rs := []rune(s)
		s = strings.TrimSpace(string(rs[:max-1])) + "…"
	}
	return s
}
