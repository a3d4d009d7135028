package main

import "strings"

// maskAddr hides the local part of an address: "a***@example.ac.jp".
// Addresses are personal data; terminals and logs get the masked form
// unless an admin asks for the full one.
func maskAddr(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 {
		return "***"
	}
	return a[:1] + "***" + a[at:]
}

func maskAddrs(as []string) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = maskAddr(a)
	}
	return strings.Join(out, ", ")
}
