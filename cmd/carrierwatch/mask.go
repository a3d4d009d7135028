package main

import (
	"strings"

	"github.com/carrierwatch/carrierwatch"
)

// maskAddrs joins addresses masked for a terminal ("a***@example.ac.jp");
// commands that serve the help desk print them in full with --unmask.
func maskAddrs(as []string) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = carrierwatch.MaskAddress(a)
	}
	return strings.Join(out, ", ")
}
