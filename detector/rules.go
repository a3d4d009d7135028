package detector

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// RuleSpec is the rule lists of one carrier as written in the configuration.
// A rule is a plain substring, matched case-insensitively against normalised
// text, or, with the prefix "re:", a Go regexp matched against normalised
// (not lower-cased) text; write (?i) for case-insensitivity.
type RuleSpec struct {
	Outage      []string `yaml:"outage" json:"outage,omitempty"`
	Resolved    []string `yaml:"resolved" json:"resolved,omitempty"`
	NotResolved []string `yaml:"not_resolved" json:"not_resolved,omitempty"`
	Ignore      []string `yaml:"ignore" json:"ignore,omitempty"`
	// NotMobile names services that are not mobile phones (固定電話,
	// 光回線, プリペイドのチャージ, shops, billing, events). It is matched
	// against a notice's title only, and only when the title names no
	// mobile service either; a match makes the notice ignored.
	NotMobile []string `yaml:"not_mobile" json:"not_mobile,omitempty"`
}

// Verdict is what a notice says, as decided by Rules.Classify.
type Verdict string

// Verdicts, in decreasing precedence (VerdictNone last).
const (
	VerdictIgnored     Verdict = "ignored"      // planned works and the like
	VerdictNotResolved Verdict = "not-resolved" // partial recovery: still an outage
	VerdictResolved    Verdict = "resolved"
	VerdictOutage      Verdict = "outage"
	VerdictNone        Verdict = "no-match"
)

// RegexpPrefix marks a rule as a Go regexp.
const RegexpPrefix = "re:"

// classifyMaxRunes bounds the text Classify looks at: a title and a text of
// MaxTextRunes each, with room to spare.
const classifyMaxRunes = 2*MaxTextRunes + 16

// Rules is a compiled RuleSpec. It is immutable and safe for concurrent use.
// A nil *Rules matches nothing.
type Rules struct {
	lists     [4][]rule // in precedence order, see verdictOrder
	notMobile []rule    // title-only, see RuleSpec.NotMobile
}

var verdictOrder = [4]Verdict{VerdictIgnored, VerdictNotResolved, VerdictResolved, VerdictOutage}

type rule struct {
	text   string         // as written in the spec
	substr string         // normalised and lower-cased; "" for a regexp
	re     *regexp.Regexp // nil for a substring
	// title: the rule (written "title:…") is matched against a notice's
	// title only, never its text.
	title bool
}

// TitlePrefix marks a rule as matched against the title of a notice only
// ("title:固定電話", "title:re:^…"): a fixed-line notice is known by its
// title, while an outage text may well mention 固定電話 as the way to call.
const TitlePrefix = "title:"

// CompileRules checks and compiles spec. It reports every problem at once
// (errors.Join), each naming the list and the index, for example
// `not_resolved[2]: invalid regexp "(": …`. Substrings and regexp sources are
// NFKC-normalised like the text they are matched against.
func CompileRules(spec RuleSpec) (*Rules, error) {
	var (
		r    Rules
		errs []error
	)
	lists := [4]struct {
		name  string
		rules []string
	}{
		{"ignore", spec.Ignore},
		{"not_resolved", spec.NotResolved},
		{"resolved", spec.Resolved},
		{"outage", spec.Outage},
	}
	for li, l := range lists {
		for i, text := range l.rules {
			c, err := compileRule(text)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", l.name, i, err))
				continue
			}
			r.lists[li] = append(r.lists[li], c)
		}
	}
	for i, text := range spec.NotMobile {
		c, err := compileRule(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("not_mobile[%d]: %w", i, err))
			continue
		}
		c.title = true
		r.notMobile = append(r.notMobile, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &r, nil
}

func compileRule(text string) (rule, error) {
	if rest, ok := strings.CutPrefix(text, TitlePrefix); ok {
		r, err := compileRule(rest)
		r.text, r.title = text, true
		return r, err
	}
	if src, ok := strings.CutPrefix(text, RegexpPrefix); ok {
		if strings.TrimSpace(src) == "" {
			return rule{}, fmt.Errorf("empty regexp %q", text)
		}
		re, err := regexp.Compile(norm.NFKC.String(src))
		if err != nil {
			return rule{}, fmt.Errorf("invalid regexp %q: %w", src, err)
		}
		if re.MatchString("") {
			return rule{}, fmt.Errorf("regexp %q matches empty text", src)
		}
		return rule{text: text, re: re}, nil
	}
	s := strings.ToLower(Normalize(text))
	if s == "" {
		return rule{}, fmt.Errorf("empty rule %q", text)
	}
	return rule{text: text, substr: s}, nil
}

// ClassifyNotice decides a notice as a reader does (a notice whose source
// stated its verdict, Notice.Verdict, keeps it): title and text are
// judged together (Classify), except that a title announcing recovery
// (【復旧】) wins over the text, which often still recounts the partial
// recovery (ほぼ回復) of the day before. Rules written "title:…" see the
// title only.
func (r *Rules) ClassifyNotice(n Notice) (v Verdict, rule string) {
	if n.Verdict != "" {
		return n.Verdict, n.Rule
	}
	if n.Title != "" {
		if title, titleRule := r.classify(n.Title, n.Title); title == VerdictResolved {
			return title, titleRule
		}
	}
	return r.classify(n.Title, n.ClassifyText())
}

// Classify decides what text says. The text is normalised first (callers may
// pass raw or already normalised text; Notice.ClassifyText is the usual
// input). Precedence: ignore > not_resolved > resolved > outage > no match.
// rule is the rule, as written in the spec, that decided; "" for VerdictNone.
// Title rules ("title:…") take text as the title.
func (r *Rules) Classify(text string) (v Verdict, rule string) {
	return r.classify(text, text)
}

// classify matches title rules against title and the others against text.
func (r *Rules) classify(title, text string) (v Verdict, rule string) {
	if r == nil {
		return VerdictNone, ""
	}
	type form struct{ norm, lower, joined string }
	prep := func(s string) form {
		n := normalize(s, classifyMaxRunes)
		l := strings.ToLower(n)
		return form{n, l, joinCJK(l)}
	}
	body := prep(text)
	head := body
	if title != text {
		head = prep(title)
	}
	for i, list := range r.lists {
		for _, ru := range list {
			f := body
			if ru.title {
				f = head
			}
			if ru.re != nil {
				if ru.re.MatchString(f.norm) {
					return verdictOrder[i], ru.text
				}
			} else if strings.Contains(f.lower, ru.substr) || strings.Contains(f.joined, ru.substr) {
				return verdictOrder[i], ru.text
			}
		}
	}
	return VerdictNone, ""
}

// joinCJK drops spaces between two CJK characters. Japanese has no spaces
// between words, but HTML sources break lines mid-sentence
// ("ご利用\nしづらい"), which normalisation turns into a space.
func joinCJK(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(0)
	for i, r := range s {
		if r == ' ' && isCJK(prev) {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if isCJK(next) {
				continue
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// isCJK reports whether r is from the CJK symbols block onwards (kana,
// ideographs, full-width punctuation) but not a Hangul syllable, whose
// language does separate words with spaces.
func isCJK(r rune) bool {
	return r >= 0x3000 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF || r >= 0xFF00 && r <= 0xFFEF || r >= 0x20000 && r <= 0x3FFFF
}

// DefaultRules returns the Japanese rules for carriers' network notices,
// checked against the real notices of testdata/corpus (see
// docs/detection.md). Resolved phrases are regexps so that
// 「復旧しましたらお知らせします」 ("we will tell you once it has recovered"),
// common in outage notices, is not taken for a recovery; 障害 is one so that
// 障害者 (disability discounts) is not an outage. Callers may append to the
// returned lists; each call returns fresh slices.
func DefaultRules() RuleSpec {
	return RuleSpec{
		// Phrases of outage notices, not of the help pages and menus
		// beside them: "障害情報" (a menu), "電話がつながらない場合" (a
		// help page) must not open an incident, so bare 障害 counts only as
		// 【障害】 or 障害が発生, and つながらない and its kin not when a
		// help page's 場合/とき/時/方/お客さま/には follows.
		Outage: []string{
			"利用しづらい", "利用しにくい", "ご利用いただけない",
			"つながりにくい", "繋がりにくい", "つながりづらい", "繋がりづらい",
			"発着信がしづらい", "発着信しづらい", "発信しづらい", "着信しづらい", "通話しづらい",
			"通信障害", "【障害】", "障害が発生", "障害発生",
			"re:(?:ご利用できない|つながらない|繋がらない|届かない|届きにくい|送受信できない|発信できない|着信できない)(?:[^場と時方おに]|$)",
			"re:(?:音声通話|データ通信|通信|通話|SMS|サービス)(?:が|を)?(?:ご)?利用できな(?:い|く)",
			// 「台風14号の影響による携帯電話サービスへの影響について」: the
			// title says little, the text lists the areas.
			"re:(?:台風|地震|大雨|豪雨|大雪|降雪|停電|災害|噴火|土砂)[^。]{0,40}(?:サービス|携帯電話|通信)への影響",
		},
		// A notice that still says something is hard to use is not a
		// recovery, whatever else it says (「音声通話は復旧しましたが、
		// データ通信は…」, 「以下のエリアは回復しました」 with areas still out,
		// 「5G・4Gは回復いたしました。3Gは…」, 「応急復旧しました」).
		NotResolved: []string{
			"一部回復", "ほぼ回復", "順次回復", "回復傾向", "概ね回復", "おおむね回復", "徐々に回復", "回復しつつ", "回復してきて",
			"一部復旧", "ほぼ復旧", "順次復旧", "概ね復旧", "おおむね復旧", "徐々に復旧", "復旧しつつ", "応急復旧", "応急的な復旧", "仮復旧",
			"ほぼ解消", "一部解消", "概ね解消", "おおむね解消", "順次解消", "混雑が続いて",
			"re:\\d+%程度(?:回復|復旧)",
			"re:引き続き[^。]{0,40}(?:しづら|しにく|でき(?:ない|ません)|つながりにく|繋がりにく|つながらな|繋がらな|いただけな)",
			"re:(?:しづらい|しにくい|できない|つながりにくい|繋がりにくい|つながらない|いただけない)(?:状況|状態)が(?:続い|継続し)て(?:おります|います)",
			"re:(?:復旧|回復)(?:し|いたし)ましたが[^。]{0,60}(?:しづら|しにく|でき(?:ない|ません)|つながりにく|繋がりにく|引き続き|続いて|継続)",
			"re:は(?:復旧|回復)(?:し|いたし)ましたが、?[^。]{0,30}は",
			"re:(?:以下|次)の(?:エリア|地域)(?:で|に)?は(?:復旧|回復)",
			"re:[2-5]G(?:・[2-5]G)*は(?:回復|復旧)(?:し|いたし)ました。?[^。]{0,10}[2-5]Gは",
		},
		Resolved: []string{
			"【復旧】", "【回復】", "【解消】",
			"re:[(\\[〔<]\\s*(?:復旧|回復|解消)(?:済み?)?\\s*[)\\]〕>]",
			"re:(?:復旧|回復|解消)(?:し|いたし)ました(?:[^ら]|$)",
			"re:(?:復旧|回復|解消)して(?:おります|います)",
			"re:復旧(?:を|が)完了(?:し|いたし)ました",
			"re:(?:ご利用|通話|通信)(?:いただける|が可能|できる)(?:よう|状態)?に(?:なり|戻り)ました", "災害前と同じ範囲", "通常どおりご利用いただけるようになりました", "通常通りご利用いただけるようになりました",
		},
		// Planned works (narrowly: an outage notice may name maintenance
		// work as its cause), and the post-mortems, refunds, relief
		// measures, events and help pages beside outage notices: they
		// name an outage but announce none.
		Ignore: []string{
			"工事のお知らせ", "メンテナンスのお知らせ", "re:(?:工事|メンテナンス)(?:のため|を実施|の予定|予定)", "re:(?:工事|メンテナンス)に伴う", "【予告】", "【工事】",
			"【工事日時】", "工事日時", "工事期間", "作業日時",
			"返金", "返還", "補償", "原因と対策", "再発防止", "報告書", "行政指導",
			"title:re:\\d+月\\d+日[^。]{0,30}に発生した", "title:re:発生した[^。]{0,20}(?:について|に関して|のご報告)", "title:に関するお詫び", "title:原因について",
			"支援措置", "災害救助法", "re:(?:無償|無料)で(?:提供|追加|ご利用)", "データ容量の追加", "データ容量を追加",
			"開催中止", "中止のお知らせ", "三太郎",
			"お問い合わせ窓口", "対処方法", "対処法",
			"title:re:^(?:障害発生情報|通信障害情報)(?:一覧)?$",
			"re:(?:障害|故障)(?:発生)?情報(?:など|等)?は(?:ございません|ありません)",
			"re:(?:障害|故障)は(?:発生して)?(?:ございません|ありません|おりません)",
		},
		// Services that are not mobile phones, judged on the title: a
		// notice about them is ignored unless its title also names a
		// mobile service (MobileServiceTerms).
		NotMobile: []string{
			"固定電話", "おとくライン", "光回線", "ひかり", "ソフトバンク光", "ドコモ光", "フレッツ", "光電話", "ホームルーター", "SoftBank Air", "home 5G", "ケーブルプラス電話",
			"プリペイド", "チャージ", "ショップ", "店舗", "料金", "請求", "明細", "決済", "au PAY", "d払い", "PayPay", "ポイント",
			"コールセンター", "お客さまセンター", "お客様センター", "お問い合わせ", "My docomo", "My au", "My SoftBank", "my 楽天モバイル", "オンラインショップ", "ウェブサイト", "ホームページ",
			"イベント", "開催", "手数料",
		},
	}
}
