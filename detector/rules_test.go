package detector

import (
	"strings"
	"testing"
)

func mustCompile(t testing.TB, spec RuleSpec) *Rules {
	t.Helper()
	r, err := CompileRules(spec)
	if err != nil {
		t.Fatalf("CompileRules: %v", err)
	}
	return r
}

func TestCompileRulesReportsEveryProblem(t *testing.T) {
	spec := RuleSpec{
		Outage:      []string{"", "障害"},
		Resolved:    []string{"re:", "re:(?i)resolved"},
		NotResolved: []string{"一部回復", "ほぼ回復", "re:("},
		Ignore:      []string{"re:.*", " \t "},
	}
	_, err := CompileRules(spec)
	if err == nil {
		t.Fatal("CompileRules: got nil error")
	}
	for _, want := range []string{
		`outage[0]: empty rule ""`,
		`resolved[0]: empty regexp "re:"`,
		`not_resolved[2]: invalid regexp "(": `,
		`ignore[0]: regexp ".*" matches empty text`,
		`ignore[1]: empty rule " \t "`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
	if got, want := strings.Count(err.Error(), "\n")+1, 5; got != want {
		t.Errorf("got %d problems, want %d:\n%v", got, want, err)
	}
}

func TestDefaultRulesCompile(t *testing.T) {
	mustCompile(t, DefaultRules())
	a, b := DefaultRules(), DefaultRules()
	a.Outage[0] = "changed"
	if b.Outage[0] == "changed" {
		t.Error("DefaultRules shares its slices between calls")
	}
}

func TestClassify(t *testing.T) {
	r := mustCompile(t, DefaultRules())
	tests := []struct {
		name, text string
		want       Verdict
		wantRule   string
	}{
		{"outage", "全国で音声通話がご利用しづらい状況です", VerdictOutage, "利用しづらい"},
		{"outage word order", "【お詫び】通信障害について", VerdictOutage, "通信障害"},
		{"an apology alone is no outage", "【お詫び】ご請求書の記載誤りについて", VerdictNone, ""},
		{"a refund after an outage is no outage", "通信障害に関するお詫びと返金について", VerdictIgnored, "返金"},
		{"SMS that does not arrive", "一部のお客さまでSMSが届かない事象について", VerdictOutage, "re:(?:ご利用できない|つながらない|繋がらない|届かない|届きにくい|送受信できない|発信できない|着信できない)(?:[^場と時方おに]|$)"},
		{"partial recovery is not resolved", "ほぼ回復しています", VerdictNotResolved, "ほぼ回復"},
		{"partial beats resolved", "一部復旧しました", VerdictNotResolved, "一部復旧"},
		{"resolved", "10月15日午後10時に復旧いたしました。", VerdictResolved, "re:(?:復旧|回復|解消)(?:し|いたし)ました(?:[^ら]|$)"},
		{"resolved at end of text", "復旧しました", VerdictResolved, "re:(?:復旧|回復|解消)(?:し|いたし)ました(?:[^ら]|$)"},
		{"resolved marker", "【復旧】ご利用しづらい状況について", VerdictResolved, "【復旧】"},
		{"future recovery is still an outage", "ご利用しづらい状況です。復旧しましたらお知らせいたします。", VerdictOutage, "利用しづらい"},
		{"planned works ignored", "設備工事のため、つながりにくくなる場合があります", VerdictIgnored, "re:(?:工事|メンテナンス)(?:のため|を実施|の予定|予定)"},
		{"maintenance ignored despite outage words", "メンテナンスのためご利用できない時間帯があります", VerdictIgnored, "re:(?:工事|メンテナンス)(?:のため|を実施|の予定|予定)"},
		{"full-width katakana from half-width", "ﾒﾝﾃﾅﾝｽのお知らせ", VerdictIgnored, "メンテナンスのお知らせ"},
		{"zero-width space does not hide a rule", "ご利\u200b用しづ\u200bらい", VerdictOutage, "利用しづらい"},
		{"line break inside Japanese text", "ご利用\r\nしづらい", VerdictOutage, "利用しづらい"},
		{"unrelated", "新料金プランのお知らせ", VerdictNone, ""},
		{"disability discount is not an outage", "障害者割引の受付について", VerdictNone, ""},
		{"outage marker", "【障害】SMSの遅延", VerdictOutage, "【障害】"},
		{"a menu is not an outage", "障害・メンテナンス情報", VerdictNone, ""},
		{"utilisation without the honorific", "【お詫び】ネットワーク障害について 一部のお客さまで利用しづらい状況", VerdictOutage, "利用しづらい"},
		{"a menu entry alone", "障害情報", VerdictNone, ""},
		{"a help page is not an outage", "電話がつながらない場合", VerdictNone, ""},
		{"another help page", "SMSが届かないときは", VerdictNone, ""},
		{"plain phrasing of an outage", "一部地域で音声通話がつながらない", VerdictOutage, "re:(?:ご利用できない|つながらない|繋がらない|届かない|届きにくい|送受信できない|発信できない|着信できない)(?:[^場と時方おに]|$)"},
		{"phone cannot connect, as a notice says it", "一部地域で電話がつながらない状況について", VerdictOutage, "re:(?:ご利用できない|つながらない|繋がらない|届かない|届きにくい|送受信できない|発信できない|着信できない)(?:[^場と時方おに]|$)"},
		{"empty", "", VerdictNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, rule := r.Classify(tt.text)
			if got, want := v, tt.want; got != want {
				t.Errorf("verdict = %q, want %q", got, want)
			}
			if got, want := rule, tt.wantRule; got != want {
				t.Errorf("rule = %q, want %q", got, want)
			}
		})
	}
}

func TestClassifyCaseAndWidthInsensitive(t *testing.T) {
	r := mustCompile(t, RuleSpec{Outage: []string{"ａプラン ｓｍｓ"}, Resolved: []string{"re:(?i)\\bresolved\\b"}})
	tests := []struct {
		name, text string
		want       Verdict
	}{
		{"full-width text", "Ａプラン ＳＭＳが不通", VerdictOutage},
		{"ascii text", "aプラン SMS", VerdictOutage},
		{"regexp sees NFKC text", "ＲＥＳＯＬＶＥＤ", VerdictResolved},
		{"regexp word boundary", "unresolved", VerdictNone},
		{"line break kept as a space", "Aプラン\nSMS", VerdictOutage},
		{"rule space is not optional", "AプランSMS", VerdictNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := r.Classify(tt.text); got != tt.want {
				t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestClassifyNilRules(t *testing.T) {
	var r *Rules
	if v, rule := r.Classify("障害"); v != VerdictNone || rule != "" {
		t.Errorf("nil Rules: got %q %q", v, rule)
	}
}

// englishRules is how an admin covers an English status page.
func englishRules() RuleSpec {
	return RuleSpec{
		Outage:      []string{`re:(?i)delay|outage|degraded|investigating`},
		Resolved:    []string{`re:(?i)\bresolved\b`},
		NotResolved: []string{`re:(?i)\bmonitoring\b|partially recovered`},
		Ignore:      []string{`re:(?i)scheduled maintenance|planned maintenance`},
	}
}

// TestClassifyFixtures runs the rules over every notice of every fixture.
func TestClassifyFixtures(t *testing.T) {
	defaults := mustCompile(t, DefaultRules())
	english := mustCompile(t, englishRules())
	type want struct {
		titlePart string
		verdict   Verdict
		rule      string
	}
	tests := []struct {
		name, file string
		src        Source
		rules      *Rules
		want       []want
	}{
		{"docomo network", "feeds/docomo-network.rdf", feedSource("docomo/0"), defaults, []want{
			{"【お詫び】", VerdictOutage, "利用しづらい"},
			{"【一部回復】", VerdictNotResolved, "一部回復"},
			{"設備工事", VerdictIgnored, "工事のお知らせ"},
		}},
		{"docomo network recovered", "feeds/docomo-network-recovered.rdf", feedSource("docomo/0"), defaults, []want{
			{"【復旧】", VerdictResolved, "【復旧】"},
			{"【一部回復】", VerdictNotResolved, "一部回復"},
			{"【お詫び】", VerdictOutage, "利用しづらい"},
		}},
		{"softbank style", "feeds/softbank-style.rss", feedSource("softbank/0"), defaults, []want{
			{"(お詫び)【復旧】", VerdictResolved, "【復旧】"},
			{"発生中", VerdictOutage, "利用しづらい"},
		}},
		{"mvno shift_jis", "feeds/mvno-shiftjis.rss", feedSource("mvno/0"), defaults, []want{
			{"【障害】Aプランにおける音声通話・SMS", VerdictOutage, "利用しづらい"},
		}},
		{"status page, default rules", "feeds/statuspage-history.atom", feedSource("gw/0"), defaults, []want{
			{"SMS delivery delays", VerdictNone, ""},
			{"Scheduled maintenance", VerdictNone, ""},
		}},
		{"status page, english rules", "feeds/statuspage-history.atom", feedSource("gw/0"), english, []want{
			{"SMS delivery delays", VerdictResolved, `re:(?i)\bresolved\b`},
			{"Scheduled maintenance", VerdictIgnored, `re:(?i)scheduled maintenance|planned maintenance`},
		}},
		{"kddi page 1", "pages/kddi-notice-1-outage.html", pageSource("kddi/1", "main"), defaults, []want{
			{"au携帯電話サービス", VerdictOutage, "利用しづらい"},
		}},
		{"kddi page 2", "pages/kddi-notice-2-partial.html", pageSource("kddi/1", "main"), defaults, []want{
			{"au携帯電話サービス", VerdictNotResolved, "ほぼ回復"},
		}},
		{"kddi page 3", "pages/kddi-notice-3-recovered.html", pageSource("kddi/1", "main"), defaults, []want{
			{"【復旧】au携帯電話サービス", VerdictResolved, "【復旧】"},
		}},
		{"kddi index", "pages/index.html", Source{ID: "kddi/2", Type: TypePage, URL: "https://www.example.jp/important/", Items: "ul.news li"}, defaults, []want{
			{"au携帯電話サービス", VerdictOutage, "利用しづらい"},
			{"【復旧】一部地域", VerdictResolved, "【復旧】"},
			{"設備メンテナンス", VerdictIgnored, "re:(?:工事|メンテナンス)に伴う"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := mustParse(t, tt.src, tt.file, "")
			if got, want := len(ns), len(tt.want); got != want {
				t.Fatalf("got %d notices, want %d", got, want)
			}
			for i, w := range tt.want {
				n := ns[i]
				if !strings.Contains(n.Title, w.titlePart) {
					t.Errorf("notice %d: title %q does not contain %q", i, n.Title, w.titlePart)
				}
				v, rule := tt.rules.Classify(n.ClassifyText())
				if got, want := v, w.verdict; got != want {
					t.Errorf("notice %d (%s): verdict %q, want %q", i, n.Title, got, want)
				}
				if got, want := rule, w.rule; got != want {
					t.Errorf("notice %d (%s): rule %q, want %q", i, n.Title, got, want)
				}
			}
		})
	}
}

func TestClassifyNoticeTrustsTheTitle(t *testing.T) {
	r, err := CompileRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		title, text string
		want        Verdict
	}{
		{"recovered title beats the partial recovery it recounts", "【復旧】au携帯電話サービスについて", "7月3日にはほぼ回復しておりましたが、本日復旧いたしました。", VerdictResolved},
		{"maintenance named as the cause is still an outage", "通信障害について", "メンテナンス作業中に発生した設備の不具合により、ご利用しづらい状況です。", VerdictOutage},
		{"a post-mortem titled like an outage stays ignored", "7月2日に発生した通信障害について", "障害の原因と再発防止策についてお知らせします。", VerdictIgnored},
		{"a refund notice titled like an outage stays ignored", "通信障害について", "ご利用料金の返金についてご案内します。", VerdictIgnored},
		{"partial recovery in the text still counts", "音声通話がご利用しづらい状況について", "現在はほぼ回復しております。", VerdictNotResolved},
		{"planned works stay ignored", "設備工事のお知らせ", "工事のためつながりにくくなる場合があります。", VerdictIgnored},
		{"no title: the text decides", "", "通信障害が発生しています", VerdictOutage},
		{"a silent title: the text decides", "お知らせ", "一部のお客さまでつながりにくい状況です", VerdictOutage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Notice{Title: Normalize(tt.title), Text: Normalize(tt.text)}
			if got, rule := r.ClassifyNotice(n); got != tt.want {
				t.Errorf("ClassifyNotice = %s (rule %q), want %s", got, rule, tt.want)
			}
		})
	}
}
