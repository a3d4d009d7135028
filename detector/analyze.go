package detector

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Services a notice is about.
const (
	ServiceMobile = "mobile" // voice, SMS or the network as a whole
	ServiceData   = "data"   // data only: no voice or SMS named
	ServiceOther  = "other"  // not a mobile service: fixed line, shops, billing, …
)

// Analysis is everything the detector reads from one notice.
type Analysis struct {
	Verdict Verdict
	// Rule is the rule, as written, that decided Verdict ("not_mobile:X"
	// for a notice about another service).
	Rule string
	// Scope is ScopeNational or ScopeRegional; Areas the areas a regional
	// notice names, nil for national.
	Scope string
	Areas []string
	// Service is ServiceMobile, ServiceData or ServiceOther.
	Service string
	// Partial is true for a not-resolved notice that says the outage has
	// partly recovered (ほぼ回復, 音声は復旧しましたが…), as opposed to one
	// that only says it goes on.
	Partial bool
	// AfterTheFact is true for a notice published once it was over
	// (「…が発生しました。現在は復旧しております」): it must open nothing.
	AfterTheFact bool
	// StartedAt is the start the notice states (「7月2日1時35分頃より」,
	// 発生日時), in Japan time; zero when it states none.
	StartedAt time.Time
	// Thread is the notice's title without status marks (ThreadTitle):
	// the same notice edited in place keeps it.
	Thread string
}

var (
	// mobileTermsRe: a title naming one of these is about mobile service.
	mobileTermsRe = regexp.MustCompile(`(?i)携帯|スマートフォン|スマホ|モバイル(?:通信|ネットワーク|回線|データ)|音声通話|データ通信|sms|cメール|ショートメッセージ|[345]g|lte|volte|ahamo|povo|uq\s*mobile|y!mobile|ワイモバイル|linemo|楽天回線|ネットワーク`)
	voiceRe       = regexp.MustCompile(`(?i)音声|通話|発着信|発信|着信|電話が|sms|cメール|ショートメッセージ|メッセージ|携帯電話サービス|緊急通報`)
	dataRe        = regexp.MustCompile(`(?i)データ通信|パケット|インターネット|ネット接続|web|メール`)
	happenedRe    = regexp.MustCompile(`(?:発生|生じ)(?:し|いたし)(?:ました|ておりました)`)
	nowRecovered  = regexp.MustCompile(`現在は(?:復旧|回復|解消)(?:して(?:おります|います)|しております|いたしております|済み)`)
	partialRe     = regexp.MustCompile(`(?:一部|ほぼ|順次|概ね|おおむね|徐々に|応急的?な?|仮)(?:回復|復旧)|(?:回復|復旧)(?:し|いたし)ました|回復傾向|回復しつつ|回復してきて|\d+%程度(?:回復|復旧)|は(?:回復|復旧)`)
	// statusMarkRe removes the marks carriers add to a title as a
	// notice evolves: 【復旧】【続報】【第2報】, （7月3日9時現在）, （更新）.
	statusMarkRe = regexp.MustCompile(`【[^】]{0,12}】|[(\[〔][^)\]〕]{0,30}(?:現在|時点|更新|追記|復旧|回復|解消|続報|第\d+報|最終報|お詫び|重要|障害|発生中|解決)[^)\]〕]{0,10}[)\]〕]|第\d+報|続報|最終報|(?:^|\s)(?:更新|追記)\s*[:：]`)
	// startRe finds a stated start: 2022年7月2日(土)1時35分頃より, 7月2日 午前1時35分ごろから, 発生日時 2024年1月1日 16:10.
	startRe    = regexp.MustCompile(`(?:(\d{4})年\s*)?(\d{1,2})月\s*(\d{1,2})日\s*(?:\([^)]{1,3}\)\s*)?(午前|午後)?\s*(\d{1,2})(?:時|:)\s*(?:(\d{1,2})分?)?\s*(?:頃|ごろ)?\s*(?:より|から|~|〜|に発生|発生)`)
	startLabel = regexp.MustCompile(`(?:発生日時|発生時刻|発生時間|日時)\s*[:：]?\s*`)
	// ongoingRe: the notice says, in the present, that something is still
	// hard to use or affected (「…の一部でご利用いただけない状況です」
	// beside 「能登町は復旧いたしました」). Such a notice is no recovery,
	// whatever else it says.
	ongoingRe = regexp.MustCompile(`(?:しづらい|しにくい|できない|いただけない|つながりにくい|繋がりにくい|つながらない|繋がらない)(?:状況|状態)(?:です|となって(?:おります|います)|になって(?:おります|います)|が(?:発生し|続い|継続し)て(?:おります|います)|でございます)|(?:つながりにくく|繋がりにくく|つながらなく|しづらく|しにくく|できなく)なって(?:おります|います)|影響が(?:出て|発生して|続いて)(?:おります|います)`)
)

// jst is Japan's time zone: carriers state times in it.
var jst = time.FixedZone("JST", 9*60*60)

// ThreadTitle returns title without the status marks carriers add as a
// notice evolves (【復旧】, 【続報】, （7月3日9時現在）, （更新）), so that the
// same notice edited in place keeps its thread.
func ThreadTitle(title string) string {
	t := statusMarkRe.ReplaceAllString(Normalize(title), " ")
	return strings.Join(strings.Fields(t), " ")
}

// StartedAt returns the start text states, in Japan time; ref supplies the
// year when the text gives none (the year of ref, or the one before when
// the date would lie more than a month after ref). Zero when none is stated.
func StartedAt(text string, ref time.Time) time.Time {
	text = startLabel.ReplaceAllString(text, "")
	m := startRe.FindStringSubmatch(text)
	if m == nil {
		return time.Time{}
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if ref.IsZero() {
		ref = time.Now()
	}
	ref = ref.In(jst)
	year := ref.Year()
	if m[1] != "" {
		year = num(m[1])
	}
	month, day, hour, minute := num(m[2]), num(m[3]), num(m[5]), num(m[6])
	if m[4] == "午後" && hour < 12 {
		hour += 12
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 {
		return time.Time{}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, 0, 0, jst)
	if m[1] == "" && t.After(ref.AddDate(0, 1, 0)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

// Service says what a notice is about: ServiceOther when its title matches
// a not_mobile rule and names no mobile service; ServiceData when it names
// data service and no voice or SMS; else ServiceMobile. rule is the
// not_mobile rule that matched.
func (r *Rules) Service(n Notice) (service, rule string) {
	title := Normalize(n.Title)
	if r != nil && title != "" && !mobileTermsRe.MatchString(title) {
		lower := strings.ToLower(title)
		for _, ru := range r.notMobile {
			if ru.re != nil && ru.re.MatchString(title) || ru.re == nil && strings.Contains(lower, ru.substr) {
				return ServiceOther, ru.text
			}
		}
	}
	text := n.ClassifyText()
	if dataRe.MatchString(text) && !voiceRe.MatchString(text) {
		return ServiceData, ""
	}
	return ServiceMobile, ""
}

// Analyze reads one notice: its verdict (ClassifyNotice; ignored for a
// notice about another service; not-resolved for a recovery that still says,
// in the present, that something is hard to use, unless its title announces
// the recovery), scope and areas, service, stated start,
// thread and whether it was published after the fact. ref is when the
// notice was published or seen, for the year of a stated start.
func (r *Rules) Analyze(n Notice, ref time.Time) Analysis {
	var a Analysis
	text := n.ClassifyText()
	a.Thread = ThreadTitle(n.Title)
	if n.Verdict != "" {
		// The source states the verdict (a statuspage): it covers the
		// carrier's whole network and is read no further.
		a.Verdict, a.Rule = n.Verdict, n.Rule
		a.Scope, a.Service = ScopeNational, ServiceMobile
		a.Partial = a.Verdict == VerdictNotResolved
		return a
	}
	a.Service, a.Rule = r.Service(n)
	if a.Service == ServiceOther {
		a.Verdict = VerdictIgnored
		a.Rule = "not_mobile:" + a.Rule
	} else {
		a.Verdict, a.Rule = r.ClassifyNotice(n)
		if a.Verdict == VerdictResolved {
			titleSays, _ := r.classify(n.Title, n.Title)
			if m := ongoingRe.FindString(Normalize(text)); m != "" && titleSays != VerdictResolved {
				a.Verdict, a.Rule = VerdictNotResolved, "still ongoing: "+m
			}
		}
	}
	a.Scope, a.Areas = Scope(text)
	norm := Normalize(text)
	a.Partial = a.Verdict == VerdictNotResolved && partialRe.MatchString(norm)
	a.AfterTheFact = happenedRe.MatchString(norm) && nowRecovered.MatchString(norm)
	a.StartedAt = StartedAt(norm, ref)
	return a
}
