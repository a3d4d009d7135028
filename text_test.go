package carrierwatch_test

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestOneLine(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"a\r\nb\tc  d\x00", 100, "a b c d"},
		{strings.Repeat("x", 10), 5, "xxxx…"},
		{"  山田\u3000太郎  ", 100, "山田\u3000太郎"},
		{"a\u3000\u3000b\u2028c", 100, "a b c"},
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
		{"ab cd", 4, "ab…"},
	}
	for _, tt := range tests {
		if got := carrierwatch.OneLine(tt.in, tt.max); got != tt.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
