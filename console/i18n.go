package console

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// languages the console speaks; the first is the fallback.
var languages = []string{"en", "ja"}

var matcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})

// langCookie remembers the language chosen with the switch.
const langCookie = "cw_lang"

// pickLang chooses the UI language: ?lang=, then the switch's cookie, then
// Accept-Language.
func pickLang(r *http.Request) string {
	for _, v := range []string{r.URL.Query().Get("lang"), cookieValue(r, langCookie)} {
		if v == "ja" || v == "en" {
			return v
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return languages[0]
	}
	_, i, _ := matcher.Match(tags...)
	return languages[i]
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// messages holds every UI string by key, per language.
var messages = map[string]map[string]string{
	"en": {
		"ev.open":                   "opened",
		"ev.update":                 "update",
		"ev.resolve":                "resolved",
		"verdict.outage":            "outage",
		"verdict.not-resolved":      "not resolved yet",
		"verdict.resolved":          "recovered",
		"verdict.ignored":           "ignored",
		"verdict.no-match":          "no match",
		"app":                       "carrierwatch",
		"nav.overview":              "Overview",
		"nav.incidents":             "Incidents",
		"nav.helpdesk":              "Help desk",
		"nav.exposure":              "Exposure",
		"nav.preview":               "Mail preview",
		"signed_in_as":              "Signed in as",
		"lang.switch":               "日本語",
		"attention":                 "Needs action",
		"attention.none":            "Nothing needs action.",
		"attn.approval":             "Campaign %d (%s, %s mails) is waiting for approval.",
		"attn.source":               "Source %s of %s is failing: %s",
		"attn.stale":                "The directory cache is stale: last good sync %s.",
		"attn.sync_failed":          "The last directory sync failed: %s",
		"attn.never_synced":         "The directory has never been synced.",
		"attn.relay":                "The relay is refusing or failing: sending is paused until %s.",
		"incidents.open":            "Open incidents",
		"incidents.none":            "No incident is open.",
		"incidents.all":             "All incidents",
		"incidents.recent":          "Recent incidents",
		"col.id":                    "ID",
		"col.carrier":               "Carrier",
		"col.scope":                 "Scope",
		"col.since":                 "Since",
		"col.last_notice":           "Last notice",
		"col.state":                 "State",
		"col.kind":                  "Kind",
		"col.progress":              "Progress",
		"col.rate":                  "Rate",
		"col.time_left":             "Time left",
		"col.source":                "Source",
		"col.last_fetch":            "Last fetch",
		"col.status":                "Status",
		"col.next_poll":             "Next poll",
		"col.at":                    "When",
		"col.verdict":               "Verdict",
		"col.rule":                  "Rule",
		"col.notice":                "Notice",
		"col.segment":               "Segment",
		"col.lang":                  "Language",
		"col.total":                 "Total",
		"col.sent":                  "Sent",
		"col.pending":               "Pending",
		"col.retrying":              "Retrying",
		"col.failed":                "Failed",
		"col.cancelled":             "Cancelled",
		"col.user":                  "User",
		"col.to":                    "To",
		"col.attempts":              "Tries",
		"col.last_error":            "Last error",
		"col.reply":                 "Server reply",
		"col.count":                 "Count",
		"col.actor":                 "Who",
		"col.action":                "What",
		"col.detail":                "Detail",
		"col.next_try":              "Next try",
		"col.upn":                   "UPN",
		"col.name":                  "Name",
		"col.mail":                  "Mail",
		"col.phones":                "Phones",
		"col.methods":               "Methods",
		"col.affected":              "Affected",
		"col.subject":               "Subject",
		"campaigns":                 "Campaigns",
		"campaigns.none":            "No campaign yet.",
		"sources":                   "Sources",
		"directory":                 "Directory",
		"dir.provider":              "Provider",
		"dir.users":                 "Users",
		"dir.last_ok":               "Last good sync",
		"dir.last_attempt":          "Last attempt",
		"dir.next":                  "Next sync",
		"dir.fresh":                 "fresh",
		"dir.stale":                 "stale",
		"relay":                     "Relay",
		"relay.sending":             "sending",
		"relay.paused":              "paused until %s",
		"relay.rate":                "%s mails in the last minute (limit %s)",
		"relay.nolimit":             "no rate limit",
		"relay.daily":               "at most %s a day",
		"src.ok":                    "ok",
		"src.failing":               "failing (%d)",
		"never":                     "never",
		"scope.national":            "national",
		"scope.regional":            "regional",
		"scope.":                    "national",
		"scope.partly":              "partly recovered",
		"manual":                    "declared by an admin",
		"incident":                  "Incident %d",
		"incident.timeline":         "Timeline of notices",
		"incident.campaigns":        "Campaigns",
		"incident.breakdown":        "Mails by segment and language",
		"incident.audit":            "Audit trail",
		"audit.none":                "No admin action yet.",
		"incident.resolve":          "Resolve this incident",
		"incident.resolved":         "Resolved %s",
		"incident.detected":         "detected %s",
		"incident.note":             "Note",
		"incident.open_new":         "Open an incident by hand",
		"incident.open_help":        "Declare a carrier down when its notices say nothing yet. Every user of the carrier is planned a mail.",
		"btn.resolve":               "Resolve",
		"btn.open":                  "Open incident",
		"btn.approve":               "Approve",
		"btn.cancel":                "Cancel",
		"btn.search":                "Search",
		"btn.back":                  "Back",
		"campaign":                  "Campaign %d",
		"campaign.of":               "%s mails for incident %d",
		"campaign.prep":             "preparedness mails",
		"campaign.failures":         "Failures by server reply",
		"campaign.retry":            "Retry queue",
		"campaign.messages":         "Messages",
		"campaign.waiting":          "Nothing is sent until an admin approves this campaign.",
		"campaign.none_fail":        "No failure.",
		"campaign.none_retry":       "Nothing waits for a retry.",
		"campaign.no_msgs":          "No message.",
		"page.next":                 "Next page",
		"page.first":                "First page",
		"confirm.approve":           "Approve campaign %d?",
		"confirm.cancel":            "Cancel campaign %d?",
		"confirm.will_send_quick":   "%s mails will be sent, in under a minute at %s.",
		"confirm.will_send_nolimit": "%s mails will be sent, as fast as the relay takes them (no rate limit set).",
		"confirm.will_send":         "%s mails will be sent; about %s at %s.",
		"confirm.daily":             "The daily limit of %s mails holds the rest for the following days.",
		"confirm.will_cancel":       "%s pending mails will not be sent. Mails already sent stay sent. This cannot be undone.",
		"confirm.keep":              "Keep it as it is",
		"done.approved":             "Campaign %d approved: %s mails will be sent.",
		"done.cancelled":            "Campaign %d cancelled.",
		"done.resolved":             "Incident %d resolved.",
		"done.opened":               "Incident %d opened.",
		"state.awaiting_approval":   "awaiting approval",
		"state.active":              "sending",
		"state.done":                "done",
		"state.cancelled":           "cancelled",
		"state.open":                "open",
		"state.resolved":            "resolved",
		"state.pending":             "pending",
		"state.sending":             "sending",
		"state.sent":                "sent",
		"state.failed":              "failed",
		"kind.outage":               "outage",
		"kind.resolved":             "resolved",
		"kind.preparedness":         "preparedness",
		"seg.app":                   "app",
		"seg.other-phone":           "other phone",
		"seg.phone-only":            "phone only",
		"seg.none":                  "not affected",
		"seg.no-address":            "no address",
		"helpdesk":                  "Help desk",
		"helpdesk.search":           "Search users",
		"helpdesk.hint":             "UPN, user id, address, name, or part of one.",
		"helpdesk.results":          "%d users found",
		"helpdesk.more":             "Showing the first %d; narrow the search.",
		"helpdesk.none":             "No user matches %q.",
		"user":                      "User",
		"user.addresses":            "Addresses (full: this page only)",
		"user.segments":             "What each carrier's outage would tell them",
		"user.messages":             "Every mail sent to them",
		"user.no_msgs":              "No mail was planned for this user.",
		"mail.open":                 "Open mail",
		"mail":                      "Mail %d to %s",
		"mail.text":                 "Text part",
		"mail.html":                 "As they see it (HTML part)",
		"exposure":                  "Exposure",
		"exposure.help":             "Users an outage of each carrier would hit, by what they are told. Number blocks hint at the original carrier only (portability).",
		"exposure.taken":            "Measured at the directory sync of %s over %s users.",
		"exposure.none":             "No measurement yet: it is taken after each directory sync.",
		"prep":                      "Preparedness campaign",
		"prep.help":                 "Phone-only users mailed, and how many of them have since registered an app or passkey (measured at each sync).",
		"prep.mailed":               "mailed",
		"prep.registered":           "registered since",
		"prep.none":                 "No measurement yet.",
		"preview":                   "Mail preview",
		"preview.help":              "Every kind, segment and language as the templates render now, with sample data.",
		"error":                     "Something went wrong",
		"notfound":                  "Not found",
	},
	"ja": {
		"ev.open":                   "発生",
		"ev.update":                 "更新",
		"ev.resolve":                "復旧",
		"verdict.outage":            "障害",
		"verdict.not-resolved":      "未復旧（一部回復など）",
		"verdict.resolved":          "復旧",
		"verdict.ignored":           "対象外",
		"verdict.no-match":          "該当なし",
		"app":                       "carrierwatch",
		"nav.overview":              "概要",
		"nav.incidents":             "障害",
		"nav.helpdesk":              "ヘルプデスク",
		"nav.exposure":              "影響範囲",
		"nav.preview":               "メールのプレビュー",
		"signed_in_as":              "ログイン中:",
		"lang.switch":               "English",
		"attention":                 "対応が必要",
		"attention.none":            "対応が必要なものはありません。",
		"attn.approval":             "キャンペーン %d（%s、%s 通）が承認待ちです。",
		"attn.source":               "%[2]s の情報源 %[1]s の取得に失敗しています: %[3]s",
		"attn.stale":                "ディレクトリのキャッシュが古くなっています（最後の同期成功: %s）。",
		"attn.sync_failed":          "最後のディレクトリ同期が失敗しました: %s",
		"attn.never_synced":         "ディレクトリはまだ一度も同期されていません。",
		"attn.relay":                "中継サーバーが拒否または失敗しています。%s まで送信を止めています。",
		"incidents.open":            "発生中の障害",
		"incidents.none":            "発生中の障害はありません。",
		"incidents.all":             "すべての障害",
		"incidents.recent":          "最近の障害",
		"col.id":                    "ID",
		"col.carrier":               "キャリア",
		"col.scope":                 "範囲",
		"col.since":                 "発生",
		"col.last_notice":           "最新のお知らせ",
		"col.state":                 "状態",
		"col.kind":                  "種類",
		"col.progress":              "進捗",
		"col.rate":                  "送信速度",
		"col.time_left":             "残り時間",
		"col.source":                "情報源",
		"col.last_fetch":            "最終取得",
		"col.status":                "状態",
		"col.next_poll":             "次回取得",
		"col.at":                    "日時",
		"col.verdict":               "判定",
		"col.rule":                  "ルール",
		"col.notice":                "お知らせ",
		"col.segment":               "区分",
		"col.lang":                  "言語",
		"col.total":                 "合計",
		"col.sent":                  "送信済み",
		"col.pending":               "未送信",
		"col.retrying":              "再試行待ち",
		"col.failed":                "失敗",
		"col.cancelled":             "取り消し",
		"col.user":                  "利用者",
		"col.to":                    "宛先",
		"col.attempts":              "試行",
		"col.last_error":            "最後のエラー",
		"col.reply":                 "サーバーの応答",
		"col.count":                 "件数",
		"col.actor":                 "実行者",
		"col.action":                "操作",
		"col.detail":                "詳細",
		"col.next_try":              "次の試行",
		"col.upn":                   "UPN",
		"col.name":                  "名前",
		"col.mail":                  "メール",
		"col.phones":                "電話番号",
		"col.methods":               "認証方法",
		"col.affected":              "影響",
		"col.subject":               "件名",
		"campaigns":                 "キャンペーン",
		"campaigns.none":            "キャンペーンはまだありません。",
		"sources":                   "情報源",
		"directory":                 "ディレクトリ",
		"dir.provider":              "取得元",
		"dir.users":                 "利用者数",
		"dir.last_ok":               "最後の同期成功",
		"dir.last_attempt":          "最後の同期",
		"dir.next":                  "次回の同期",
		"dir.fresh":                 "最新",
		"dir.stale":                 "古い",
		"relay":                     "メール中継",
		"relay.sending":             "送信中",
		"relay.paused":              "%s まで停止中",
		"relay.rate":                "直近1分間に %s 通（上限 %s）",
		"relay.nolimit":             "速度の上限なし",
		"relay.daily":               "1日 %s 通まで",
		"src.ok":                    "正常",
		"src.failing":               "失敗（%d 回）",
		"never":                     "なし",
		"scope.national":            "全国",
		"scope.regional":            "地域",
		"scope.":                    "全国",
		"scope.partly":              "一部回復",
		"manual":                    "管理者が宣言",
		"incident":                  "障害 %d",
		"incident.timeline":         "お知らせの経過",
		"incident.campaigns":        "キャンペーン",
		"incident.breakdown":        "区分・言語ごとのメール",
		"incident.audit":            "操作の記録",
		"audit.none":                "管理者の操作はまだありません。",
		"incident.resolve":          "この障害を復旧済みにする",
		"incident.resolved":         "%s に復旧",
		"incident.detected":         "検知 %s",
		"incident.note":             "メモ",
		"incident.open_new":         "障害を手動で登録",
		"incident.open_help":        "キャリアのお知らせがまだ出ていないときに障害を宣言します。そのキャリアの利用者全員にメールが予定されます。",
		"btn.resolve":               "Resolve",
		"btn.open":                  "Open incident",
		"btn.approve":               "Approve",
		"btn.cancel":                "Cancel",
		"btn.search":                "検索",
		"btn.back":                  "戻る",
		"campaign":                  "キャンペーン %d",
		"campaign.of":               "障害 %[2]d の %[1]s メール",
		"campaign.prep":             "事前準備のメール",
		"campaign.failures":         "サーバーの応答ごとの失敗",
		"campaign.retry":            "再試行待ち",
		"campaign.messages":         "メール",
		"campaign.waiting":          "管理者が承認するまで何も送信されません。",
		"campaign.none_fail":        "失敗はありません。",
		"campaign.none_retry":       "再試行待ちはありません。",
		"campaign.no_msgs":          "メールはありません。",
		"page.next":                 "次のページ",
		"page.first":                "最初のページ",
		"confirm.approve":           "キャンペーン %d を承認しますか？",
		"confirm.cancel":            "キャンペーン %d を取り消しますか？",
		"confirm.will_send_quick":   "%s 通のメールが送信されます（%sで1分以内）。",
		"confirm.will_send_nolimit": "%s 通のメールが送信されます（送信速度の上限なし。中継サーバーが受け付ける速さで送ります）。",
		"confirm.will_send":         "%s 通のメールが送信されます。%[3]sで約 %[2]sかかります。",
		"confirm.daily":             "1日の上限 %s 通を超える分は翌日以降に送られます。",
		"confirm.will_cancel":       "未送信の %s 通は送信されません。送信済みのメールはそのままです。元に戻せません。",
		"confirm.keep":              "何もしない",
		"done.approved":             "キャンペーン %d を承認しました。%s 通が送信されます。",
		"done.cancelled":            "キャンペーン %d を取り消しました。",
		"done.resolved":             "障害 %d を復旧済みにしました。",
		"done.opened":               "障害 %d を登録しました。",
		"state.awaiting_approval":   "承認待ち",
		"state.active":              "送信中",
		"state.done":                "完了",
		"state.cancelled":           "取り消し",
		"state.open":                "発生中",
		"state.resolved":            "復旧",
		"state.pending":             "未送信",
		"state.sending":             "送信中",
		"state.sent":                "送信済み",
		"state.failed":              "失敗",
		"kind.outage":               "障害",
		"kind.resolved":             "復旧",
		"kind.preparedness":         "事前準備",
		"seg.app":                   "アプリあり",
		"seg.other-phone":           "別の電話あり",
		"seg.phone-only":            "電話のみ",
		"seg.none":                  "影響なし",
		"seg.no-address":            "宛先なし",
		"helpdesk":                  "ヘルプデスク",
		"helpdesk.search":           "利用者を検索",
		"helpdesk.hint":             "UPN、利用者 ID、メールアドレス、名前（一部でも可）",
		"helpdesk.results":          "%d 人見つかりました",
		"helpdesk.more":             "最初の %d 人を表示しています。絞り込んでください。",
		"helpdesk.none":             "%q に一致する利用者はいません。",
		"user":                      "利用者",
		"user.addresses":            "メールアドレス（完全な表示はこのページのみ）",
		"user.segments":             "キャリアごとの障害時の案内",
		"user.messages":             "この利用者に送ったメール",
		"user.no_msgs":              "この利用者へのメールはありません。",
		"mail.open":                 "メールを開く",
		"mail":                      "%[2]s へのメール %[1]d",
		"mail.text":                 "テキスト",
		"mail.html":                 "受信者が見る表示（HTML）",
		"exposure":                  "影響範囲",
		"exposure.help":             "各キャリアの障害で影響を受ける利用者と、その案内の区分。番号帯は元のキャリアを示すだけです（番号ポータビリティ）。",
		"exposure.taken":            "%s のディレクトリ同期時点、利用者 %s 人。",
		"exposure.none":             "まだ計測していません。ディレクトリ同期のたびに計測します。",
		"prep":                      "事前準備キャンペーン",
		"prep.help":                 "メールを送った「電話のみ」の利用者と、その後アプリやパスキーを登録した人数（同期ごとに計測）。",
		"prep.mailed":               "送信",
		"prep.registered":           "その後登録",
		"prep.none":                 "まだ計測していません。",
		"preview":                   "メールのプレビュー",
		"preview.help":              "すべての種類・区分・言語を、現在のテンプレートと見本のデータで表示します。",
		"error":                     "エラーが発生しました",
		"notfound":                  "見つかりません",
	},
}

// translate returns the message for key in lang, formatted with args;
// a missing key shows as ??key?? (a test looks for it).
func translate(lang, key string, args ...any) string {
	s, ok := messages[lang][key]
	if !ok {
		return "??" + key + "??"
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// jst is Japan Standard Time (no daylight saving time): the console shows
// times in JST in Japanese and in the server's zone in English.
var jst = time.FixedZone("JST", 9*60*60)

func fmtTime(lang string, t time.Time) string {
	if t.IsZero() {
		return translate(lang, "never")
	}
	if lang == "ja" {
		return t.In(jst).Format("2006-01-02 15:04 JST")
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

// fmtNum writes n with thousands separators: 13,333.
func fmtNum(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtRate writes a rate without needless decimals: 20, 0.5.
func fmtRate(r float64) string {
	return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64)
}

// fmtDuration rounds a duration for people: "about 11 minutes".
func fmtDuration(lang string, d time.Duration) string {
	if d <= 0 {
		if lang == "ja" {
			return "0 分"
		}
		return "0 minutes"
	}
	type unit struct {
		d      time.Duration
		en, ja string
	}
	for _, u := range []unit{{24 * time.Hour, "day", "日"}, {time.Hour, "hour", "時間"}, {time.Minute, "minute", "分"}} {
		if d >= u.d || u.d == time.Minute {
			n := int((d + u.d/2) / u.d)
			if n < 1 {
				n = 1
			}
			if lang == "ja" {
				return fmt.Sprintf("%d %s", n, u.ja)
			}
			if n == 1 {
				return "1 " + u.en
			}
			return fmt.Sprintf("%d %ss", n, u.en)
		}
	}
	return ""
}

// ago writes how long ago t was, or "never".
func ago(lang string, now, t time.Time) string {
	if t.IsZero() {
		return translate(lang, "never")
	}
	d := now.Sub(t)
	if d < time.Minute && d > -time.Minute {
		if lang == "ja" {
			return "たった今"
		}
		return "just now"
	}
	if d < 0 {
		if lang == "ja" {
			return fmtDuration(lang, -d) + "後"
		}
		return "in " + fmtDuration(lang, -d)
	}
	if lang == "ja" {
		return fmtDuration(lang, d) + "前"
	}
	return fmtDuration(lang, d) + " ago"
}
