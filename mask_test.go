package carrierwatch_test

import (
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestMaskAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"taro.yamada@example.ac.jp", "t***@example.ac.jp"},
		{"Taro <taro@example.org>", "t***@example.org"},
		{"x", "***"},
		{"@example.org", "***"},
		{"山田@example.jp", "山***@example.jp"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got, want := carrierwatch.MaskAddress(tt.in), tt.want; got != want {
				t.Errorf("MaskAddress(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestMaskAddressesIn(t *testing.T) {
	got := carrierwatch.MaskAddressesIn("550 5.1.1 <taro.alt@example.net>: Recipient address rejected; also hanako@example.org")
	if want := "550 5.1.1 <t***@example.net>: Recipient address rejected; also h***@example.org"; got != want {
		t.Errorf("MaskAddressesIn = %q, want %q", got, want)
	}
}
