package detector

import (
	"regexp"
	"slices"
	"strings"
)

// Scopes of a notice: how much of the network it says is affected.
const (
	ScopeNational = "national"
	ScopeRegional = "regional"
)

// AreaSomewhere is the area of a regional notice that names none
// (「一部エリア」「一部の地域」).
const AreaSomewhere = "一部エリア"

// prefectures in the order of the national code (JIS X 0401).
var prefectures = []string{
	"北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
	"茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
	"新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
	"静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
	"奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
	"徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
	"熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
}

// regions are the 地方 and wider areas notices name, with the prefectures
// they cover. 東日本 and 西日本 follow the carriers' split (KDDI: 富山県,
// 長野県, 静岡県 and west are 西日本).
var regions = map[string][]string{
	"東北":   {"青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県"},
	"関東":   {"茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県"},
	"首都圏":  {"埼玉県", "千葉県", "東京都", "神奈川県"},
	"甲信越":  {"山梨県", "長野県", "新潟県"},
	"北陸":   {"新潟県", "富山県", "石川県", "福井県"},
	"東海":   {"岐阜県", "静岡県", "愛知県", "三重県"},
	"中部":   {"新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県"},
	"近畿":   {"三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"},
	"関西":   {"滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"},
	"中国地方": {"鳥取県", "島根県", "岡山県", "広島県", "山口県"},
	"四国":   {"徳島県", "香川県", "愛媛県", "高知県"},
	"九州":   {"福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"},
	"沖縄":   {"沖縄県"},
	"東日本":  {"北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "山梨県"},
	"西日本": {"富山県", "石川県", "福井県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
		"奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県",
		"佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"},
}

var (
	// regionRe finds 地方 and wide areas where they name a place: with
	// 地方/エリア/地域/圏 after them, or the words that never mean anything
	// else (東日本, 西日本, 首都圏, 甲信越).
	regionRe = regexp.MustCompile(`(東北|関東甲信越|関東|甲信越|北陸|東海|中部|近畿|関西|中国|四国|九州|沖縄)(?:地方|エリア|地域|圏|の一部|各県|全域|\d+都\d+県|\d+[都府]?県)|東日本|西日本|首都圏|関東甲信越|甲信越`)
	// notPlaceRe removes company names that contain area words (NTT東日本,
	// JR西日本, 東日本大震災) before areas are looked for.
	notPlaceRe = regexp.MustCompile(`(?:NTT|JR|エヌ・ティ・ティ)\s*(?:東日本|西日本|東海|九州|四国)|東日本大震災|西日本豪雨|九州北部豪雨`)
	// nationalRe says the whole network is affected.
	nationalRe = regexp.MustCompile(`全国(?:的|で|の|に|エリア|各地|規模)|エリア\s*[:：]?\s*全国`)
	// somewhereRe is a regional notice that names no area.
	somewhereRe = regexp.MustCompile(`一部(?:の)?(?:エリア|地域|地区)|一部エリア`)
)

// Areas returns the areas text names, in order of first mention and
// without repeats: prefectures (石川県; 東京都 also as 東京), 地方 (関東, 九州),
// 東日本/西日本. It returns nil when text names none.
func Areas(text string) []string {
	text = notPlaceRe.ReplaceAllString(text, " ")
	type hit struct {
		at   int
		name string
	}
	var hits []hit
	for _, p := range prefectures {
		if i := strings.Index(text, p); i >= 0 {
			hits = append(hits, hit{i, p})
			continue
		}
		// Lists often drop 県: 「青森、岩手、秋田…の6県」. A bare name
		// counts where a list separator, の or 県 follows it (東京 and
		// 大阪 anywhere).
		short := strings.TrimRight(p, "都府県")
		if short == p || len([]rune(short)) < 2 {
			continue
		}
		re := bareRe(short)
		if bareOK(p) {
			if i := strings.Index(text, short); i >= 0 {
				hits = append(hits, hit{i, p})
			}
			continue
		}
		if loc := re.FindStringIndex(text); loc != nil {
			hits = append(hits, hit{loc[0], p})
		}
	}
	for _, m := range regionRe.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[0]:m[1]]
		if m[2] >= 0 {
			name = text[m[2]:m[3]]
		}
		switch name {
		case "中国":
			name = "中国地方"
		case "関東甲信越":
			hits = append(hits, hit{m[0], "関東"}, hit{m[0] + 1, "甲信越"})
			continue
		}
		hits = append(hits, hit{m[0], name})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.at - b.at })
	var out []string
	for _, h := range hits {
		if !slices.Contains(out, h.name) {
			out = append(out, h.name)
		}
	}
	return out
}

// bareRe matches a prefecture name without 県 where a list goes on after
// it: 「岩手、」「福島の6県」「山梨・長野」.
func bareRe(short string) *regexp.Regexp { return bareRes[short] }

var bareRes = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, p := range prefectures {
		short := strings.TrimRight(p, "都府県")
		m[short] = regexp.MustCompile(regexp.QuoteMeta(short) + `(?:[、,・]|の\d|の[一-龥]{0,2}県|両県|各県|など)`)
	}
	return m
}()

// bareOK lists the prefectures whose name without 都/府/県 notices use alone.
func bareOK(pref string) bool {
	switch pref {
	case "東京都", "大阪府":
		return true
	}
	return false
}

// Scope reads how much of the network text says is affected: national when
// it says 全国 or names no area; regional, with the areas, when it names
// prefectures, 地方 or 一部エリア (then areas is [AreaSomewhere]).
func Scope(text string) (scope string, areas []string) {
	if nationalRe.MatchString(text) {
		return ScopeNational, nil
	}
	if areas = Areas(text); len(areas) > 0 {
		return ScopeRegional, areas
	}
	if somewhereRe.MatchString(text) {
		return ScopeRegional, []string{AreaSomewhere}
	}
	return ScopeNational, nil
}

// Prefectures returns the prefectures an area covers: itself for a
// prefecture, the member prefectures for a 地方 or 東日本/西日本, nil for an
// unknown name or AreaSomewhere.
func Prefectures(area string) []string {
	if slices.Contains(prefectures, area) {
		return []string{area}
	}
	if area == "東京" {
		return []string{"東京都"}
	}
	if area == "中国" {
		area = "中国地方"
	}
	return regions[area]
}

// Overlaps reports whether any of areas and any of home share a prefecture:
// an outage in 神奈川県 overlaps home region 関東, one in 東日本 overlaps
// 東京都. AreaSomewhere overlaps nothing: it names no place.
func Overlaps(areas, home []string) bool {
	for _, a := range areas {
		pa := Prefectures(a)
		for _, h := range home {
			for _, p := range Prefectures(h) {
				if slices.Contains(pa, p) {
					return true
				}
			}
		}
	}
	return false
}

// KnownArea reports whether name is a prefecture or a 地方 Prefectures
// knows, for validating configured home regions.
func KnownArea(name string) bool { return len(Prefectures(name)) > 0 }
