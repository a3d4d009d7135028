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
