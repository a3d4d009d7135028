package templates

import (
	stdhtml "html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// The wording a recipient needs, read in the rendered mails (issue 12).

func render(t *testing.T, d Data) (text, html string) {
	t.Helper()
	r := mustNew(t, "")
	_, text, html, err := r.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	return text, html
}

func TestOtherPhoneCallOnly(t *testing.T) {
	for _, lang := range Languages {
		d := sample(lang, Combination{carrierwatch.KindOutage, carrierwatch.SegmentOtherPhone})
		d.OtherPhones = []string{"+81 80-****-2222", "+81 3-****-1234"}
		d.OtherCallOnly = []string{"+81 3-****-1234"}
		text, html := render(t, d)
		want := map[string][]string{
			"ja": {"+81 80-****-2222 (SMS または音声通話)", "+81 3-****-1234 (音声通話のみ)", "SMS は届きません"},
			"en": {"one of your other numbers", "+81 80-****-2222 (text message or call)", "+81 3-****-1234 (call only)", "gets no text message"},
		}[lang]
		plain := stdhtml.UnescapeString(stripTags(html))
		for _, w := range want {
			if !strings.Contains(text, w) || !strings.Contains(plain, w) {
				t.Errorf("%s: mail lacks %q\n%s", lang, w, text)
			}
		}
		// Only call-only numbers: never "text message or call" for them.
		d.OtherPhones, d.OtherCallOnly = []string{"+81 3-****-1234"}, []string{"+81 3-****-1234"}
		text, _ = render(t, d)
		for _, no := range []string{"SMS または音声通話)", "text message or call"} {
			if strings.Contains(text, no) {
				t.Errorf("%s: call-only number offered %q:\n%s", lang, no, text)
			}
		}
	}
}

func TestSupportFormPlaceholders(t *testing.T) {
	d := sample("en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
	d.Links.SupportForm = "https://forms.office.com/r/abc?u={upn}&p={masked_phone}&c={carrier}&i={incident}"
	want := "https://forms.office.com/r/abc?u=taro.yamada%40example.ac.jp&p=%2B81+90-%2A%2A%2A%2A-5678&c=au+%2F+UQ+mobile+%2F+povo&i=42"
	if got := d.SupportFormURL(); got != want {
		t.Fatalf("SupportFormURL = %q, want %q", got, want)
	}
	text, html := render(t, d)
	if !strings.Contains(text, want) {
		t.Errorf("text lacks the filled link:\n%s", text)
	}
	if !strings.Contains(stdhtml.UnescapeString(html), `href="`+want+`"`) {
		t.Errorf("html lacks the filled link:\n%s", html)
	}
	if strings.Contains(text+html, "{upn}") {
		t.Error("a placeholder is left in the mail")
	}
	// Preparedness: no incident, no carrier.
	p := sample("ja", Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly})
	p.Links.SupportForm = "https://f.example/?c={carrier}&i={incident}"
	if got := p.SupportFormURL(); got != "https://f.example/?c=&i=" {
		t.Errorf("preparedness SupportFormURL = %q", got)
	}
}

// TestPhoneOnlyButton: the support form is the phone-only user's one
// action: a button right under the first sentence, saying whether the form
// works without signing in.
func TestPhoneOnlyButton(t *testing.T) {
	for _, lang := range Languages {
		for _, open := range []bool{false, true} {
			d := sample(lang, Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
			d.Links.SupportFormWithoutSignIn = open
			text, html := render(t, d)
			body := html[strings.Index(html, "<body"):]
			paras := regexp.MustCompile(`(?s)<p[ >].*?</p>`).FindAllString(body, 4)
			// greeting, first sentence, the button.
			if len(paras) < 4 || !strings.Contains(paras[2], `href="https://help.example.ac.jp/forms/mfa-reset"`) || !strings.Contains(paras[2], "display: inline-block") {
				t.Fatalf("%s: the button is not right under the first sentence:\n%s", lang, strings.Join(paras, "\n"))
			}
			note := map[string]map[bool]string{
				"ja": {true: "サインインしなくても使えます", false: "サインインを求められて進めない場合"},
				"en": {true: "works without signing in", false: "asks you to sign in and you cannot"},
			}[lang][open]
			if !strings.Contains(paras[3], note) {
				t.Errorf("%s: the note under the button is %q, want %q", lang, paras[3], note)
			}
			// In the text part the link comes before the account details.
			if i, j := strings.Index(text, "https://help.example.ac.jp/forms/mfa-reset"), strings.Index(text, "taro.yamada@example.ac.jp"); i < 0 || i > j || !strings.Contains(text, note) {
				t.Errorf("%s text: form link at %d, account at %d, note %q:\n%s", lang, i, j, note, text)
			}
		}
		// Other segments get no button.
		_, html := render(t, sample(lang, Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp}))
		if strings.Contains(html, "display: inline-block") {
			t.Errorf("%s: app segment has the button", lang)
		}
	}
}

func TestPhoneOnlyChecklist(t *testing.T) {
	for _, lang := range Languages {
		text, html := render(t, sample(lang, Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly}))
		for _, no := range []string{"試しても、できなかった", "other methods did not work", "あらためて設定", "does not affect) again"} {
			if strings.Contains(text, no) || strings.Contains(html, no) {
				t.Errorf("%s: phone-only mail still says %q", lang, no)
			}
		}
		for _, w := range map[string][]string{"ja": {"電話番号だけ", "パスキーを登録してください"}, "en": {"only registered verification method", "register an authenticator app"}}[lang] {
			if !strings.Contains(text, w) {
				t.Errorf("%s: phone-only mail lacks %q", lang, w)
			}
		}
	}
}

func TestJapaneseHTMLLayout(t *testing.T) {
	d := sample("ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
	d.AffectedPhones = []string{"+81 90-****-5678", "+81 80-****-1111"}
	_, html := render(t, d)
	if strings.Contains(html, "お問い合わせください。\n担当者") || strings.Contains(html, "お問い合わせください。 担当者") {
		t.Error("stray space between お問い合わせください。 and 担当者")
	}
	if got := strings.Count(html, `<span style="white-space: nowrap;">&#43;81 80-****-1111</span>`); got < 2 {
		t.Errorf("masked number kept on one line %d times, want in the table and the checklist:\n%s", got, html)
	}
	en := sample("en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
	en.AffectedPhones = d.AffectedPhones
	text, html := render(t, en)
	if !strings.Contains(text, "Registered phone numbers: ") || !strings.Contains(html, "Registered phone numbers</th>") {
		t.Error("two numbers, singular label")
	}
	en.AffectedPhones = en.AffectedPhones[:1]
	if text, _ := render(t, en); !strings.Contains(text, "Registered phone number: ") {
		t.Error("one number, plural label")
	}
}

func TestPreparednessHasNoNoticeLink(t *testing.T) {
	for _, lang := range Languages {
		d := sample(lang, Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly})
		d.Links.Notice = "https://help.example.ac.jp/news/outage"
		text, html := render(t, d)
		if strings.Contains(text+html, "news/outage") {
			t.Errorf("%s preparedness mail prints the outage notice link", lang)
		}
	}
}

func TestStartedOrDetected(t *testing.T) {
	for _, tt := range []struct {
		lang       string
		started    bool
		want, not  string
		wantInHTML string
	}{
		{"ja", true, "発生日時: 2022年7月2日 01:35", "検知日時", "発生日時</th>"},
		{"ja", false, "検知日時: 2022年7月2日 01:50", "発生日時", "検知日時</th>"},
		{"en", true, "Started: Sat 2 Jul 2022 01:35 JST", "Detected at", "Started</th>"},
		{"en", false, "Detected at: Sat 2 Jul 2022 01:50 JST", "Started", "Detected at</th>"},
	} {
		d := sample(tt.lang, Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp})
		d.OpenedAt = time.Date(2022, 7, 1, 16, 50, 0, 0, time.UTC)
		if tt.started {
			d.StartedAt = time.Date(2022, 7, 1, 16, 35, 0, 0, time.UTC)
		}
		text, html := render(t, d)
		if !strings.Contains(text, tt.want) || strings.Contains(text, tt.not+":") || !strings.Contains(html, tt.wantInHTML) {
			t.Errorf("%s started=%v: want %q, not %q:\n%s", tt.lang, tt.started, tt.want, tt.not, text)
		}
	}
	// SetIncident carries the carrier's stated start.
	var d Data
	st := time.Date(2022, 7, 1, 16, 35, 0, 0, time.UTC)
	d.SetIncident(&carrierwatch.Incident{ID: 1, StartedAt: st}, "au")
	if !d.StartedAt.Equal(st) {
		t.Errorf("SetIncident: StartedAt %v", d.StartedAt)
	}
}
