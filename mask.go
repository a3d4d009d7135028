package carrierwatch

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskAddress hides an e-mail address's local part for logs, replies and
// terminals: "taro@example.ac.jp" and "Taro <taro@example.ac.jp>" become
// "t***@example.ac.jp"; anything without a local part and a domain becomes
// "***". Addresses are personal data: this is the one masking everything
// else calls.
func MaskAddress(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	first, _ := utf8.DecodeRuneInString(addr)
	if !unicode.IsPrint(first) {
		first = '*'
	}
	return string(first) + "***" + OneLine(addr[at:], 100)
}

var addressLike = regexp.MustCompile(`[^\s<>"'(),;:\[\]@]+@[A-Za-z0-9.-]+`)

// MaskAddressesIn masks every address-like token in s, such as a mail
// server's reply: "550 <taro@example.net>" becomes "550 <t***@example.net>".
func MaskAddressesIn(s string) string {
	return addressLike.ReplaceAllStringFunc(s, MaskAddress)
}

// OneLine makes s one line of at most max runes for a log, a terminal or a
// page: control and line-separator characters become spaces, runs of
// white space one space, and a longer text is cut with "…".
func OneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}
