package detector

import (
	"slices"
	"testing"
	"time"
)

func TestScope(t *testing.T) {
	tests := []struct {
		name, text string
		scope      string
		areas      []string
	}{
		{"nationwide", "全国で音声通話およびデータ通信がご利用しづらい状況が発生しております", ScopeNational, nil},
		{"no area named", "一部のお客さまで通話・データ通信が利用しづらい状況", ScopeNational, nil},
		{"prefecture", "石川県の一部エリアでご利用しづらい状況について", ScopeRegional, []string{"石川県"}},
		{"several prefectures in order", "宮崎県、鹿児島県の一部エリアで携帯電話サービスがご利用しづらい", ScopeRegional, []string{"宮崎県", "鹿児島県"}},
		{"region", "西日本エリアで携帯電話サービスがご利用できない", ScopeRegional, []string{"西日本"}},
		{"地方", "関東地方の一部で通信障害", ScopeRegional, []string{"関東"}},
		{"unnamed area", "一部の地域で携帯電話サービスがご利用しづらい状況が発生中", ScopeRegional, []string{AreaSomewhere}},
		{"company names are not areas", "NTT東日本のデータセンターの電源障害により一部エリアでご利用しづらい", ScopeRegional, []string{AreaSomewhere}},
		{"national beats the regions it explains", "全国で…西日本とは静岡県・長野県・富山県以西", ScopeNational, nil},
		{"東京 without 都", "東京の一部エリアで", ScopeRegional, []string{"東京都"}},
		{"京都府 is not 東京都", "京都府の一部", ScopeRegional, []string{"京都府"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scope, areas := Scope(Normalize(tt.text))
			if scope != tt.scope || !slices.Equal(areas, tt.areas) {
				t.Errorf("Scope = %s %q, want %s %q", scope, areas, tt.scope, tt.areas)
			}
		})
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		areas, home []string
		want        bool
	}{
		{[]string{"神奈川県"}, []string{"関東"}, true},
		{[]string{"東日本"}, []string{"東京都"}, true},
		{[]string{"九州"}, []string{"東京都", "関東", "東日本"}, false},
		{[]string{AreaSomewhere}, []string{"関東"}, false},
		{[]string{"石川県"}, nil, false},
	}
	for _, tt := range tests {
		if got := Overlaps(tt.areas, tt.home); got != tt.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tt.areas, tt.home, got, tt.want)
		}
	}
}

func TestThreadTitle(t *testing.T) {
	base := "au携帯電話サービスがご利用しづらい状況について"
	for _, title := range []string{
		base,
		"【復旧】" + base,
		"【続報】" + base + "（7月3日9時現在）",
		base + "(7月3日 11時30分 時点)",
		"【第3報】" + base,
	} {
		if got := ThreadTitle(title); got != base {
			t.Errorf("ThreadTitle(%q) = %q, want %q", title, got, base)
		}
	}
}

func TestStartedAt(t *testing.T) {
	ref := time.Date(2022, 7, 3, 12, 0, 0, 0, jst)
	tests := []struct {
		text string
		want time.Time
	}{
		{"2022年7月2日(土)1時35分頃より音声通話およびデータ通信がご利用しづらい", time.Date(2022, 7, 2, 1, 35, 0, 0, jst)},
		{"7月2日 午後1時21分から午後1時48分にかけて", time.Date(2022, 7, 2, 13, 21, 0, 0, jst)},
		{"発生日時: 2024年1月1日 16:10頃 から", time.Date(2024, 1, 1, 16, 10, 0, 0, jst)},
		{"ご迷惑をおかけしております", time.Time{}},
		// A date after ref without a year is last year's.
		{"12月30日10時頃より", time.Date(2021, 12, 30, 10, 0, 0, 0, jst)},
	}
	for _, tt := range tests {
		if got := StartedAt(Normalize(tt.text), ref); !got.Equal(tt.want) {
			t.Errorf("StartedAt(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestService(t *testing.T) {
	r := mustCompile(t, DefaultRules())
	tests := []struct{ title, text, want string }{
		{"固定電話サービスがご利用しづらい状況について", "東日本エリアの一部で", ServiceOther},
		{"ソフトバンク携帯電話・固定電話における音声通話障害について", "発着信がしづらい状況", ServiceMobile},
		{"auプリペイドのチャージがご利用しづらい状況について", "", ServiceOther},
		{"「三太郎の日」の開催中止について", "通信障害の影響により", ServiceOther},
		{"データ通信がご利用しづらい状況について", "LTEのデータ通信がご利用しづらい状況が発生しております", ServiceData},
		{"au携帯電話サービスがご利用しづらい状況について", "音声通話およびデータ通信", ServiceMobile},
	}
	for _, tt := range tests {
		if got, _ := r.Service(Notice{Title: tt.title, Text: tt.text}); got != tt.want {
			t.Errorf("Service(%q) = %s, want %s", tt.title, got, tt.want)
		}
	}
}

func TestListedDateAndSameSite(t *testing.T) {
	if got, want := ListedDate("2022年7月2日 au携帯電話"), time.Date(2022, 7, 2, 0, 0, 0, 0, jst); !got.Equal(want) {
		t.Errorf("ListedDate = %v, want %v", got, want)
	}
	if got := ListedDate("2022.02.30 x"); !got.IsZero() {
		t.Errorf("ListedDate of 30 February = %v, want zero", got)
	}
	for _, tt := range []struct {
		src, link string
		want      bool
	}{
		{"https://www.au.com/information/", "https://news.au.com/x", true},
		{"https://www.au.com/information/", "https://au.com.evil.example/x", false},
		{"https://www.docomo.ne.jp/info/rss/network.rdf", "https://www.docomo.ne.jp/info/network/1.html", true},
		{"https://www.docomo.ne.jp/info/", "https://docomo.example.ne.jp/", false},
	} {
		if got := SameSite(tt.src, tt.link); got != tt.want {
			t.Errorf("SameSite(%s, %s) = %v", tt.src, tt.link, got)
		}
	}
}

// TestIndexItems: an index's breadcrumbs and off-site banners are not
// notices; items keep their listed date.
func TestIndexItems(t *testing.T) {
	page := `<main><ul>
<li><a href="/">ホーム</a></li>
<li>障害情報</li>
<li><a href="https://ads.example.com/x">通信障害時の備えに</a></li>
<li><time datetime="2024-01-01">2024年1月1日</time> <a href="/info/20240101.html">石川県の一部エリアでご利用しづらい状況について</a></li>
</ul></main>`
	ns, err := Parse(Source{ID: "a/0", Type: TypePage, URL: "https://www.au.com/information/", Selector: "main", Items: "li"}, []byte(page), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 {
		t.Fatalf("got %d notices (%+v), want the home link and the notice", len(ns), ns)
	}
	if got := ns[1]; got.Link != "https://www.au.com/info/20240101.html" || !got.Published.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, jst)) {
		t.Errorf("notice = %+v", got)
	}
}

// FuzzAnalyze: any title and text give a known verdict and scope, areas
// only for a regional notice, and a thread no longer than the title.
func FuzzAnalyze(f *testing.F) {
	f.Add("【復旧】石川県の一部エリアでご利用しづらい状況について", "能登町は復旧いたしました。輪島市ではご利用いただけない状況です。")
	f.Add("（7月3日9時現在）", "2022年7月2日(土)1時35分頃より全国で")
	f.Add("", "青森、岩手、秋田の3県")
	r := mustCompile(f, DefaultRules())
	ref := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, title, text string) {
		n := Notice{Title: Normalize(title), Text: Normalize(text)}
		a := r.Analyze(n, ref)
		switch a.Verdict {
		case VerdictNone, VerdictOutage, VerdictResolved, VerdictNotResolved, VerdictIgnored:
		default:
			t.Fatalf("unknown verdict %q", a.Verdict)
		}
		switch {
		case a.Scope == ScopeNational && len(a.Areas) != 0:
			t.Fatalf("national with areas %q", a.Areas)
		case a.Scope == ScopeRegional && len(a.Areas) == 0:
			t.Fatal("regional without areas")
		case a.Scope != ScopeNational && a.Scope != ScopeRegional:
			t.Fatalf("scope %q", a.Scope)
		}
		if len(a.Thread) > len(n.Title)+1 {
			t.Fatalf("thread %q longer than title %q", a.Thread, n.Title)
		}
	})
}
