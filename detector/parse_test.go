package detector

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

func TestParseFeedFields(t *testing.T) {
	tests := []struct {
		name, file    string
		wantKey       string
		wantLink      string
		wantPublished time.Time
		wantText      string
	}{
		{
			name:          "RDF: empty GUID, key is the link, dc:date",
			file:          "feeds/docomo-network.rdf",
			wantKey:       "https://carrier.example.jp/info/network/kanto/pages/20211015_01.html",
			wantLink:      "https://carrier.example.jp/info/network/kanto/pages/20211015_01.html",
			wantPublished: time.Date(2021, 10, 14, 8, 40, 0, 0, time.UTC),
			wantText:      "2021年10月14日午後5時頃より、全国で",
		},
		{
			name:          "RSS 2.0 with HTML description",
			file:          "feeds/softbank-style.rss",
			wantKey:       "https://mobile.example.jp/info/important/20181206-14/",
			wantLink:      "https://mobile.example.jp/info/important/20181206-14/",
			wantPublished: time.Date(2018, 12, 6, 9, 4, 0, 0, time.UTC),
			wantText:      "(発生日時)2018年12月6日 午後1時39分頃 (復旧日時)",
		},
		{
			name:          "Shift_JIS via XML declaration, NFKC",
			file:          "feeds/mvno-shiftjis.rss",
			wantKey:       "trouble-20220702",
			wantLink:      "https://mvno.example.jp/support/trouble/20220702.html",
			wantPublished: time.Date(2022, 7, 1, 18, 0, 0, 0, time.UTC),
			wantText:      "Aプラン(au回線)をご利用のお客さまにおいて、音声通話・SMS・データ通信",
		},
		{
			name:          "Atom with HTML content",
			file:          "feeds/statuspage-history.atom",
			wantKey:       "tag:status.sms-gateway.example,2005:Incident/20393847",
			wantLink:      "https://status.sms-gateway.example/incidents/k3x9p2",
			wantPublished: time.Date(2024, 3, 5, 7, 12, 40, 0, time.UTC),
			wantText:      "Mar 5, 09:41 UTC Resolved - Delivery",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := mustParse(t, feedSource("x/0"), tt.file, "")
			if len(ns) == 0 {
				t.Fatal("no notices")
			}
			n := ns[0]
			if got, want := n.Key, tt.wantKey; got != want {
				t.Errorf("Key = %q, want %q", got, want)
			}
			if got, want := n.Link, tt.wantLink; got != want {
				t.Errorf("Link = %q, want %q", got, want)
			}
			if got, want := n.Published, tt.wantPublished; !got.Equal(want) {
				t.Errorf("Published = %v, want %v", got, want)
			}
			if !strings.Contains(n.Text, tt.wantText) {
				t.Errorf("Text = %q, want it to contain %q", n.Text, tt.wantText)
			}
			if strings.ContainsAny(n.Text, "<>") {
				t.Errorf("Text still has markup: %q", n.Text)
			}
			if got, want := n.Hash, contentHash(n.Title, n.Text); got != want {
				t.Errorf("Hash = %s, want sha256 of title and text %s", got, want)
			}
		})
	}
}

func TestParseJSONFeed(t *testing.T) {
	body := []byte(`{"version":"https://jsonfeed.org/version/1.1","title":"障害情報","items":[
		{"id":"j1","url":"/trouble/1.html","title":"通信障害のお知らせ","content_html":"<p>ご利用しづらい状況です</p>","date_published":"2022-07-02T03:00:00+09:00"}]}`)
	ns, err := Parse(feedSource("json/0"), body, "application/feed+json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ns), 1; got != want {
		t.Fatalf("got %d notices, want %d", got, want)
	}
	if got, want := ns[0].Text, "ご利用しづらい状況です"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got, want := ns[0].Link, "https://feeds.example.jp/trouble/1.html"; got != want {
		t.Errorf("Link = %q, want %q", got, want)
	}
}

func TestParseNotAFeed(t *testing.T) {
	page := readFixture(t, "pages/kddi-notice-1-outage.html")
	tests := []struct {
		name, contentType string
		body              []byte
		wantMsg           string
	}{
		{"HTML page", "text/html; charset=utf-8", page, `source kddi/0: not a feed: got an HTML page (content type "text/html; charset=utf-8")`},
		{"garbage bytes", "application/rss+xml", []byte("\x00\x01\xff\xfe garbage \x89PNG\r\n\x1a\n"), "source kddi/0: not a feed: "},
		{"empty body", "application/rss+xml", nil, "source kddi/0: not a feed: empty body"},
		{"truncated XML", "application/rss+xml", []byte(`<?xml version="1.0"?><rss version="2.0"><channel><item><title>障害`), "source kddi/0: not a feed: "},
		{"broken JSON", "application/json", []byte(`{"version": "https://jsonfeed.org/version/1", "items": [`), "source kddi/0: not a feed: "},
		{"plain text", "text/plain", []byte("Service Unavailable"), "source kddi/0: not a feed: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := Parse(Source{ID: "kddi/0", Type: TypeFeed}, tt.body, tt.contentType)
			if !errors.Is(err, ErrNotFeed) {
				t.Fatalf("err = %v (%d notices), want ErrNotFeed", err, len(ns))
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want prefix %q", err, tt.wantMsg)
			}
		})
	}
}

// hostileFeed is an RSS 2.0 feed with one item per title.
func hostileFeed(titles ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>`)
	for i, title := range titles {
		fmt.Fprintf(&b, "<item><guid>g%d</guid><title>%s</title><description>&lt;p&gt;本文&lt;script&gt;alert(%d)&lt;/script&gt;&lt;/p&gt;</description></item>", i, title, i)
	}
	b.WriteString("</channel></rss>")
	return b.Bytes()
}

func TestParseHostileTitles(t *testing.T) {
	long := strings.Repeat("障害", 6000) // 12,000 characters
	tests := []struct {
		name, title, want string
	}{
		{"CRLF and tabs", "通信\r\n障害\tについて\r\n", "通信 障害 について"},
		{"escaped script", "&lt;script&gt;alert(1)&lt;/script&gt;障害のお知らせ", "障害のお知らせ"},
		{"CDATA script", "<![CDATA[<script>alert(1)</script><b>障害</b>のお知らせ]]>", "障害のお知らせ"},
		{"12,000 characters", long, long[:len("障")*MaxTextRunes]},
		{"invalid UTF-8", "障害\xff\xfeのお知らせ", "障害\ufffdのお知らせ"},
		{"full-width", "ＳＭＳ障害", "SMS障害"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := Parse(feedSource("h/0"), hostileFeed(tt.title), "application/rss+xml")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(ns), 1; got != want {
				t.Fatalf("got %d notices, want %d", got, want)
			}
			n := ns[0]
			if got, want := n.Title, tt.want; got != want {
				t.Errorf("Title = %q, want %q", trunc(got), trunc(want))
			}
			if got, want := n.Text, "本文"; got != want {
				t.Errorf("Text = %q, want %q (script removed)", got, want)
			}
			if !utf8.ValidString(n.Title) || utf8.RuneCountInString(n.Title) > MaxTextRunes {
				t.Errorf("Title not valid UTF-8 or too long")
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestParseShiftJIS(t *testing.T) {
	sjis := readFixture(t, "feeds/mvno-shiftjis.rss")
	noDecl := bytes.Replace(sjis, []byte(`<?xml version="1.0" encoding="Shift_JIS"?>`), nil, 1)
	if bytes.Equal(noDecl, sjis) {
		t.Fatal("fixture has no Shift_JIS declaration")
	}
	page := bytes.Replace(readFixture(t, "pages/kddi-notice-1-outage.html"), []byte("©"), []byte("(c)"), 1)
	sjisPage, err := japanese.ShiftJIS.NewEncoder().Bytes(bytes.Replace(page, []byte(`<meta charset="utf-8">`), nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	sjisPageMeta, err := japanese.ShiftJIS.NewEncoder().Bytes(bytes.Replace(page, []byte(`<meta charset="utf-8">`), []byte(`<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">`), 1))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, contentType string
		src               Source
		body              []byte
		want              string
	}{
		{"feed, XML declaration only", "application/rss+xml", feedSource("m/0"), sjis, "【障害】Aプランにおける音声通話・SMSがご利用しづらい事象について"},
		{"feed, header only", "application/rss+xml; charset=Shift_JIS", feedSource("m/0"), noDecl, "【障害】Aプランにおける音声通話・SMSがご利用しづらい事象について"},
		{"feed, header and declaration", "text/xml; charset=shift_jis", feedSource("m/0"), sjis, "【障害】Aプランにおける音声通話・SMSがご利用しづらい事象について"},
		{"feed, header wrongly says UTF-8", "text/xml; charset=UTF-8", feedSource("m/0"), sjis, "【障害】Aプランにおける音声通話・SMSがご利用しづらい事象について"},
		{"page, header only", "text/html; charset=Shift_JIS", pageSource("k/1", "main"), sjisPage, "au携帯電話サービスがご利用しづらい状況について"},
		{"page, meta only", "text/html", pageSource("k/1", "main"), sjisPageMeta, "au携帯電話サービスがご利用しづらい状況について"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := Parse(tt.src, tt.body, tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) == 0 {
				t.Fatal("no notices")
			}
			if got, want := ns[0].Title, tt.want; got != want {
				t.Errorf("Title = %q, want %q", got, want)
			}
		})
	}
}

// TestParsePageHash checks that only the selection makes a page notice's
// content identity.
func TestParsePageHash(t *testing.T) {
	base := string(readFixture(t, "pages/kddi-notice-1-outage.html"))
	hash := func(t *testing.T, page, selector string) string {
		t.Helper()
		ns, err := Parse(pageSource("kddi/1", selector), []byte(page), "text/html; charset=utf-8")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(ns), 1; got != want {
			t.Fatalf("got %d notices, want %d", got, want)
		}
		return ns[0].Hash
	}
	want := hash(t, base, "main")
	same := []struct{ name, old, new string }{
		{"ad changed", "新プラン登場！", "秋の新機種！"},
		{"tracking script changed", "window.dataLayer=[];", `window.dataLayer=[{"t":1656920000}];`},
		{"page title changed", "<title>重要なお知らせ | 通信事業者</title>", "<title>お知らせ</title>"},
		{"footer changed", "© Carrier Example", "© 2022 Carrier Example"},
		{"script inside main", "</h1>", "</h1><script>var t=Date.now()</script><noscript>JavaScriptを有効に</noscript><style>p{}</style>"},
		{"markup reflowed", "<p>対象:", "<p>\n  対象:"},
		{"full-width digits", "2022年7月2日 5:00 更新", "２０２２年７月２日 ５:００ 更新"},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			page := strings.Replace(base, tt.old, tt.new, 1)
			if page == base {
				t.Fatalf("replacement %q not found", tt.old)
			}
			if got := hash(t, page, "main"); got != want {
				t.Errorf("hash changed")
			}
		})
	}
	for _, other := range []string{"pages/kddi-notice-2-partial.html", "pages/kddi-notice-3-recovered.html"} {
		t.Run("edit "+other, func(t *testing.T) {
			if got := hash(t, string(readFixture(t, other)), "main"); got == want {
				t.Errorf("in-place edit kept the hash")
			}
		})
	}
	t.Run("whole body sees the ad", func(t *testing.T) {
		a := hash(t, base, "")
		b := hash(t, strings.Replace(base, "新プラン登場！", "秋の新機種！", 1), "")
		if a == b {
			t.Errorf("body hash ignored a change in the body")
		}
	})
}

func TestParsePageTitle(t *testing.T) {
	tests := []struct {
		name, page, selector, want string
	}{
		{"first heading in selection", `<title>T</title><body><h2>外</h2><main><p>x</p><h3>見出し</h3><h1>後</h1></main>`, "main", "見出し"},
		{"page title when no heading", `<title>
			重要なお知らせ </title><main><p>本文</p></main>`, "main", "重要なお知らせ"},
		{"h4 is not a title", `<title>T</title><main><h4>小見出し</h4></main>`, "main", "T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := Parse(pageSource("p/0", tt.selector), []byte(tt.page), "text/html")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ns[0].Title, tt.want; got != want {
				t.Errorf("Title = %q, want %q", got, want)
			}
			if got, want := ns[0].Key, "https://www.example.jp/important/notice.html"; got != want {
				t.Errorf("Key = %q, want %q", got, want)
			}
		})
	}
}

func TestParsePageItems(t *testing.T) {
	src := Source{ID: "kddi/2", Type: TypePage, URL: "https://www.example.jp/important/", Selector: "main", Items: "ul.news li"}
	ns := mustParse(t, src, "pages/index.html", "text/html")
	want := []struct{ key, title, link string }{
		{"https://www.example.jp/important/20220702.html", "au携帯電話サービスがご利用しづらい状況について", "https://www.example.jp/important/20220702.html"},
		{"https://www.example.jp/important/20220610.html", "【復旧】一部地域でデータ通信がご利用しづらい状況について", "https://www.example.jp/important/20220610.html"},
		{"https://other.example.jp/maint/0601.html", "設備メンテナンスに伴うサービス停止のお知らせ", "https://other.example.jp/maint/0601.html"},
		// The fourth item has no link: not a notice (issue 9).
	}
	if got, want := len(ns), len(want); got != want {
		t.Fatalf("got %d notices, want %d", got, want)
	}
	for i, w := range want {
		if got, want := ns[i].Key, w.key; got != want {
			t.Errorf("item %d: Key = %q, want %q", i, got, want)
		}
		if got, want := ns[i].Title, w.title; got != want {
			t.Errorf("item %d: Title = %q, want %q", i, got, want)
		}
		if got, want := ns[i].Link, w.link; got != want {
			t.Errorf("item %d: Link = %q, want %q", i, got, want)
		}
	}
	if got, want := ns[0].Text, "2022年7月2日 au携帯電話サービスがご利用しづらい状況について"; got != want {
		t.Errorf("item 0: Text = %q, want %q", got, want)
	}

	// A new item on top does not change the others' identity.
	page := strings.Replace(string(readFixture(t, "pages/index.html")), `<ul class="news">`,
		`<ul class="news"><li><a href="/important/20220703.html">【お詫び】通信障害について</a></li>`, 1)
	ns2, err := Parse(src, []byte(page), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ns2), len(ns)+1; got != want {
		t.Fatalf("got %d notices, want %d", got, want)
	}
	for i := range ns {
		if ns2[i+1].Key != ns[i].Key || ns2[i+1].Hash != ns[i].Hash {
			t.Errorf("item %d changed identity after a new item was added", i)
		}
	}
}

func TestParseDuplicateKeys(t *testing.T) {
	page := `<ul><li><a href="/a">一</a></li><li><a href="/a">二</a></li><li><a href="/a">三</a></li></ul>`
	ns, err := Parse(Source{ID: "d/0", Type: TypePage, URL: "https://x.example/", Items: "li"}, []byte(page), "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, n := range ns {
		keys = append(keys, n.Key)
	}
	if got, want := strings.Join(keys, " "), "https://x.example/a https://x.example/a#2 https://x.example/a#3"; got != want {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

func TestParsePageErrors(t *testing.T) {
	page := readFixture(t, "pages/kddi-notice-1-outage.html")
	tests := []struct {
		name    string
		src     Source
		wantErr error
	}{
		{"selector matches nothing", pageSource("k/1", "#gone"), ErrNoSelection},
		{"items match nothing", Source{ID: "k/1", Type: TypePage, URL: "https://example.jp/", Items: "ul.gone li"}, ErrNoSelection},
		{"invalid selector", pageSource("k/1", "main[["), ErrSource},
		{"invalid items selector", Source{ID: "k/1", Type: TypePage, Items: "li::"}, ErrSource},
		{"unknown type", Source{ID: "k/1", Type: "pdf"}, ErrSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.src, page, "text/html")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "source k/1: ") {
				t.Errorf("err = %q does not name the source", err)
			}
		})
	}
}

func TestSourceValidate(t *testing.T) {
	tests := []struct {
		name    string
		src     Source
		wantErr []string
	}{
		{"feed ok", Source{ID: "a/0", Type: TypeFeed, URL: "https://x.example/rss"}, nil},
		{"page ok", Source{ID: "a/1", Type: TypePage, URL: "http://x.example/", Selector: "main", Items: "ul.news > li"}, nil},
		{"everything wrong", Source{Type: "pdf", URL: "ftp://x"}, []string{"id: empty", `type: "pdf"`, `url: "ftp://x" is not`}},
		{"selector on feed", Source{ID: "a/0", Type: TypeFeed, URL: "https://x.example/", Selector: "main"}, []string{"only for type page"}},
		{"bad selectors", Source{ID: "a/1", Type: TypePage, URL: "https://x.example/", Selector: "[", Items: "li::"}, []string{"selector: invalid CSS selector", "items: invalid CSS selector"}},
		{"relative url", Source{ID: "a/0", Type: TypeFeed, URL: "/rss"}, []string{"not an absolute http(s) URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: nil error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParsePageItemsBounded(t *testing.T) {
	tests := []struct {
		name string
		page string
		want int
	}{
		{"many items", "<ul>" + strings.Repeat(`<li><a href="/n">障害</a></li>`, MaxItems+100) + "</ul>", MaxItems},
		// The HTML parser refuses more than 512 open elements.
		{"nested items", strings.Repeat(`<div><a href="/n">通信障害</a> `, 400), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := "li"
			if strings.HasPrefix(tt.page, "<div>") {
				items = "div"
			}
			ns, err := Parse(Source{ID: "i/0", Type: TypePage, URL: "https://www.example.jp/", Items: items}, []byte(tt.page), "")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(ns), tt.want; got != want {
				t.Errorf("got %d notices, want %d", got, want)
			}
			for _, n := range ns {
				if utf8.RuneCountInString(n.Text) > MaxTextRunes {
					t.Fatalf("item text longer than MaxTextRunes")
				}
			}
		})
	}
}
