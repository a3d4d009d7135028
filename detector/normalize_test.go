package detector

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only spaces", " \t\r\n\u3000 ", ""},
		{"full-width ASCII", "Ａプラン ＳＭＳ １２３", "Aプラン SMS 123"},
		{"half-width katakana", "ｿﾌﾄﾊﾞﾝｸ", "ソフトバンク"},
		{"full-width brackets", "（au回線）", "(au回線)"},
		{"CRLF and TAB", "line1\r\nline2\tline3", "line1 line2 line3"},
		{"runs collapsed and trimmed", "  a \n\n\t  b  ", "a b"},
		{"ideographic and no-break space", "障害\u3000発生\u00a0中", "障害 発生 中"},
		{"other controls", "a\x00b\x1bc\u0085d", "a b c d"},
		{"zero-width and BOM dropped", "ご利\u200b用\ufeffしづらい", "ご利用しづらい"},
		{"invalid UTF-8 replaced", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"circled digits", "①障害", "1障害"},
		{"lenticular brackets kept", "【復旧】", "【復旧】"},
		{"composed after dropped format char", "e\u200b\u0301", "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Normalize(tt.in), tt.want; got != want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestNormalizeCutsToMaxTextRunes(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"ascii", strings.Repeat("a", 12000)},
		{"japanese", strings.Repeat("障", 12000)},
		{"full-width", strings.Repeat("Ａ", 12000)},
		{"words", strings.Repeat("ab ", 12000)},
		{"leading whitespace", strings.Repeat(" ", 100000) + strings.Repeat("x", 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if n := utf8.RuneCountInString(got); n != MaxTextRunes {
				t.Errorf("rune count = %d, want %d", n, MaxTextRunes)
			}
			if strings.HasSuffix(got, " ") {
				t.Errorf("result ends with a space")
			}
			if again := Normalize(got); again != got {
				t.Errorf("Normalize is not idempotent on the cut result")
			}
		})
	}
}
