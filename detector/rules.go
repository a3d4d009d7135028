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
	lists [4][]rule // in precedence order, see verdictOrder
}

var verdictOrder = [4]Verdict{VerdictIgnored, VerdictNotResolved, VerdictResolved, VerdictOutage}

type rule struct {
	text   string         // as written in the spec
	substr string         // normalised and lower-cased; "" for a regexp
	re     *regexp.Regexp // nil for a substring
}

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
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &r, nil
}

func compileRule(text string) (rule, error) {
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
// recovery (ほぼ回復) of the day before.
func (r *Rules) ClassifyNotice(n Notice) (v Verdict, rule string) {
	if n.Verdict != "" {
		return n.Verdict, n.Rule
	}
	if n.Title != "" {
		if title, titleRule := r.Classify(n.Title); title == VerdictResolved {
			return title, titleRule
		}
	}
	return r.Classify(n.ClassifyText())
}

// Classify decides what text says. The text is normalised first (callers may
// pass raw or already normalised text; Notice.ClassifyText is the usual
// input). Precedence: ignore > not_resolved > resolved > outage > no match.
// rule is the rule, as written in the spec, that decided; "" for VerdictNone.
func (r *Rules) Classify(text string) (v Verdict, rule string) {
	if r == nil {
		return VerdictNone, ""
	}
	norm := normalize(text, classifyMaxRunes)
	lower := strings.ToLower(norm)
	joined := joinCJK(lower)
	for i, list := range r.lists {
		for _, ru := range list {
			if ru.re != nil {
				if ru.re.MatchString(norm) {
					return verdictOrder[i], ru.text
				}
			} else if strings.Contains(lower, ru.substr) || strings.Contains(joined, ru.substr) {
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

// DefaultRules returns the Japanese rules for carriers' network notices.
// Resolved phrases are regexps so that 「復旧しましたらお知らせします」 ("we will
// tell you once it has recovered"), common in outage notices, is not taken for
// a recovery; 障害 is one so that 障害者 (disability discounts) is not an
// outage. お詫び also heads apologies for billing errors: on a general news
// index, add an ignore rule or drop it. Callers may append to the returned
// lists; each call returns fresh slices.
func DefaultRules() RuleSpec {
	return RuleSpec{
		// Phrases of outage notices, not of the help pages and menus
		// beside them: "障害情報" (a menu), "電話がつながらない場合" (a
		// help page) must not open an incident, so bare 障害 counts only as
		// 【障害】 or 障害が発生, and つながらない and its kin not when a
		// help page's 場合/とき/時/方/お客さま/には follows.
		Outage: []string{
			"利用しづらい", "利用しにくい", "ご利用いただけない",
			"つながりにくい", "繋がりにくい",
			"通信障害", "【障害】", "障害が発生", "障害発生",
			"re:(?:ご利用できない|つながらない|繋がらない|届かない|届きにくい|送受信できない|発信できない|着信できない)(?:[^場と時方おに]|$)",
		},
		NotResolved: []string{
			"一部回復", "ほぼ回復", "順次回復", "回復傾向", "概ね回復", "おおむね回復",
			"一部復旧", "ほぼ復旧", "順次復旧", "概ね復旧", "おおむね復旧",
		},
		Resolved: []string{
			"【復旧】", "【回復】", "【解消】",
			"re:(?:復旧|回復|解消)(?:し|いたし)ました(?:[^ら]|$)",
		},
		// Planned works (narrowly: an outage notice may name maintenance
		// work as its cause), and the post-mortems and refunds that follow
		// an outage: they name the outage but announce none.
		Ignore: []string{
			"工事のお知らせ", "メンテナンスのお知らせ", "re:(?:工事|メンテナンス)(?:のため|を実施|の予定|予定)", "re:(?:工事|メンテナンス)に伴う", "【予告】", "【工事】",
			"返金", "補償", "原因と対策", "再発防止",
		},
	}
}
