package detector

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func addTextSeeds(f *testing.F) {
	for _, s := range []string{
		"", " ", "Ａプラン ＳＭＳ", "ｿﾌﾄﾊﾞﾝｸ", "通信\r\n障害\t", "a\xffb\xc3", "e\u200b\u0301",
		"【復旧】ご利用しづらい状況", "ほぼ回復しました", "復旧しましたらお知らせします",
		"<script>alert(1)</script>", "\u3000\u00a0\u2028", "ﷺ", "각", "\u1100\u1161\u11a8",
		strings.Repeat("障害 ", 3000), strings.Repeat("\u0301", 100),
	} {
		f.Add(s)
	}
	for _, name := range []string{"feeds/docomo-network.rdf", "pages/kddi-notice-2-partial.html"} {
		f.Add(string(readFixture(f, name)))
	}
}

func FuzzNormalize(f *testing.F) {
	addTextSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		if n := utf8.RuneCountInString(got); n > MaxTextRunes {
			t.Fatalf("%d runes", n)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("untrimmed or uncollapsed: %q", got)
		}
		for _, r := range got {
			if r != ' ' && (unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("kept %U in %q", r, got)
			}
		}
		if !norm.NFKC.IsNormalString(got) {
			t.Fatalf("not NFKC: %q", got)
		}
		if again := Normalize(got); again != got {
			t.Fatalf("not idempotent:\n%q\n%q", got, again)
		}
		// The bounded pre-pass must not change the result.
		if full := normalizeUnbounded(s); !strings.HasPrefix(full, got) {
			t.Fatalf("bounded result is not a prefix of the full normalisation:\n%q\n%q", got, full)
		}
	})
}

// normalizeUnbounded normalises all of s (no rune limit) for comparison.
func normalizeUnbounded(s string) string {
	return normalize(s, utf8.RuneCountInString(s)*18+1)
}

func FuzzClassify(f *testing.F) {
	addTextSeeds(f)
	rules := []*Rules{mustCompile(f, DefaultRules()), mustCompile(f, englishRules())}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range rules {
			v, rule := r.Classify(s)
			switch v {
			case VerdictNone:
				if rule != "" {
					t.Fatalf("no-match with rule %q", rule)
				}
			case VerdictOutage, VerdictResolved, VerdictNotResolved, VerdictIgnored:
				if rule == "" {
					t.Fatalf("%s without a rule", v)
				}
			default:
				t.Fatalf("unknown verdict %q", v)
			}
			// Normalised text classifies the same.
			if v2, rule2 := r.Classify(normalize(s, classifyMaxRunes)); v2 != v || rule2 != rule {
				t.Fatalf("raw %s/%q, normalised %s/%q", v, rule, v2, rule2)
			}
		}
	})
}

func FuzzParsePage(f *testing.F) {
	for _, name := range []string{"pages/kddi-notice-1-outage.html", "pages/kddi-notice-3-recovered.html", "pages/index.html"} {
		page := string(readFixture(f, name))
		f.Add(page, "main", "")
		f.Add(page, "", "li")
		f.Add(page, "main", "ul.news li")
	}
	f.Add("<main><h1>\x00\xff</h1><script>x", "main", "")
	f.Add(strings.Repeat("<div>", 5000)+"障害", "", "div")
	f.Add("<ul><li><a href='javascript:alert(1)'>x</a></li></ul>", "", "li")
	f.Add("<p>a</p>", "p[", "::")
	f.Fuzz(func(t *testing.T, page, selector, items string) {
		src := Source{ID: "fuzz/0", Type: TypePage, URL: "https://www.example.jp/x/", Selector: selector, Items: items}
		ns, err := Parse(src, []byte(page), "text/html")
		if err != nil {
			return
		}
		keys := map[string]bool{}
		for _, n := range ns {
			for _, s := range []string{n.Title, n.Text} {
				if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxTextRunes || s != Normalize(s) {
					t.Fatalf("field not normalised: %q", s)
				}
			}
			if n.Hash != contentHash(n.Title, n.Text) {
				t.Fatalf("bad hash")
			}
			if n.Key == "" || keys[n.Key] {
				t.Fatalf("empty or repeated key %q", n.Key)
			}
			keys[n.Key] = true
			if strings.HasPrefix(strings.ToLower(n.Link), "javascript:") {
				t.Fatalf("script link %q", n.Link)
			}
		}
	})
}

func FuzzParseFeed(f *testing.F) {
	for _, name := range []string{"feeds/docomo-network.rdf", "feeds/softbank-style.rss", "feeds/mvno-shiftjis.rss", "feeds/statuspage-history.atom"} {
		f.Add(readFixture(f, name), "")
	}
	f.Add(hostileFeed("a\r\n<script>", "\xff"), "application/rss+xml; charset=utf-8")
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","title":"x"}]}`), "application/feed+json")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		ns, err := Parse(Source{ID: "fuzz/0", Type: TypeFeed, URL: "https://feeds.example.jp/"}, body, contentType)
		if err != nil {
			return
		}
		for _, n := range ns {
			if n.Title != Normalize(n.Title) || n.Text != Normalize(n.Text) || n.Key == "" {
				t.Fatalf("bad notice %+v", n)
			}
		}
	})
}
