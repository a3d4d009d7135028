package templates

import (
	"encoding/json"
	"flag"
	"fmt"
	stdhtml "html"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func sample(lang string, c Combination) Data {
	d := Data{
		Recipient: Recipient{
			DisplayName:    "山田 太郎",
			UPN:            "taro.yamada@example.ac.jp",
			CarrierName:    "au / UQ mobile / povo",
			AffectedPhones: []string{"+81 90-****-5678"},
		},
		Kind:          c.Kind,
		Segment:       c.Segment,
		Lang:          lang,
		IncidentID:    42,
		IncidentTitle: "【お詫び】au携帯電話サービスがご利用しづらい状況について",
		IncidentURL:   "https://example.com/notice/1?a=1&b=2",
		OpenedAt:      time.Date(2022, 7, 1, 16, 35, 0, 0, time.UTC), // 2022-07-02 01:35 JST
		ResolvedAt:    time.Date(2022, 7, 5, 6, 0, 0, 0, time.UTC),
		Links: Links{
			SupportForm: "https://help.example.ac.jp/forms/mfa-reset",
			MFASetup:    "https://help.example.ac.jp/mfa/setup",
			Notice:      "https://help.example.ac.jp/news/2022-07-02",
		},
		RetirementDate: "2027-02-01",
	}
	if lang == "en" {
		d.DisplayName = "Taro Yamada"
	}
	if c.Segment == carrierwatch.SegmentOtherPhone {
		d.OtherPhones = []string{"+81 80-****-2222"}
	}
	if c.Kind == carrierwatch.KindPreparedness {
		d.CarrierName, d.IncidentID, d.IncidentTitle, d.IncidentURL = "", 0, "", ""
		d.OpenedAt, d.ResolvedAt = time.Time{}, time.Time{}
		d.Links.Notice = ""
	}
	if c.Kind == carrierwatch.KindOutage {
		d.ResolvedAt = time.Time{}
	}
	return d
}

func mustNew(t testing.TB, dir string) *Renderer {
	t.Helper()
	r, err := New(dir)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return r
}

func TestGolden(t *testing.T) {
	r := mustNew(t, "")
	for _, lang := range Languages {
		for _, c := range Combinations() {
			name := string(c.Kind) + "-" + string(c.Segment) + "." + lang
			t.Run(name, func(t *testing.T) {
				subject, text, html, err := r.Render(sample(lang, c))
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				checkGolden(t, name+".txt", "Subject: "+subject+"\n\n"+text)
				checkGolden(t, name+".html", html)
			})
		}
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./templates -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./templates -update rewrites it)\n--- got ---\n%s", path, got)
	}
}

func TestContent(t *testing.T) {
	r := mustNew(t, "")
	tests := []struct {
		name string
		lang string
		c    Combination
		want []string // in the text body and, with tags stripped of markup, in HTML
		not  []string
	}{
		{"outage app ja", "ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp},
			[]string{"お使いの携帯電話が au / UQ mobile / povo の回線の場合", "「問題がありますか? 別の方法でサインインする」", "「別の確認オプションを使用する」", "認証アプリ", "Wi-Fi", "検知日時", "2022年7月2日 01:35 (日本時間)", "+81 90-****-5678"},
			[]string{"携帯電話は au", "+81 80-"}},
		{"outage app en", "en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp},
			[]string{"If your phone is on au / UQ mobile / povo", "Sign in another way", "authenticator app", "Wi-Fi or mobile data", "Detected at", "Sat 2 Jul 2022 01:35 JST"},
			[]string{"your phone is au", "Your phone is au"}},
		{"outage other-phone ja", "ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentOtherPhone},
			[]string{"別の電話番号 +81 80-****-2222", "「問題がありますか? 別の方法でサインインする」"}, nil},
		{"outage other-phone en", "en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentOtherPhone},
			[]string{"your other number +81 80-****-2222", "Sign in another way"}, nil},
		{"outage phone-only ja", "ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly},
			[]string{"au / UQ mobile / povo の通信障害に関するお問い合わせ", "登録している確認方法が電話番号だけ", "登録済みの番号: +81 90-****-5678", "Wi-Fi またはモバイルデータ通信", "別の電話番号をお持ちかどうか", "リセット", "https://help.example.ac.jp/mfa/setup", "https://help.example.ac.jp/forms/mfa-reset"},
			[]string{"別の確認オプションを使用する"}},
		{"outage phone-only en", "en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly},
			[]string{"about the au / UQ mobile / povo outage", "your only registered verification method", "on file: +81 90-****-5678", "Wi-Fi or mobile data", "another phone number that the outage does not affect", "AFTER THE RESET", "https://help.example.ac.jp/forms/mfa-reset"}, nil},
		{"resolved app ja", "ja", Combination{carrierwatch.KindResolved, carrierwatch.SegmentApp},
			[]string{"復旧しました", "2022年7月5日 15:00 (日本時間)"}, []string{"パスキーを登録してください"}},
		{"resolved phone-only ja", "ja", Combination{carrierwatch.KindResolved, carrierwatch.SegmentPhoneOnly},
			[]string{"復旧しました", "認証アプリ (Microsoft Authenticator など) またはパスキーを登録してください", "https://help.example.ac.jp/mfa/setup"}, nil},
		{"resolved other-phone en", "en", Combination{carrierwatch.KindResolved, carrierwatch.SegmentOtherPhone},
			[]string{"outage is over", "register an authenticator app", "passkey"}, nil},
		{"preparedness ja", "ja", Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly},
			[]string{"約 86 時間", "2027年2月1日", "Microsoft が提供する SMS・音声通話", "独自に契約する通信事業者", "https://help.example.ac.jp/mfa/setup"}, []string{"障害情報"}},
		{"preparedness en", "en", Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly},
			[]string{"about 86 hours", "1 February 2027", "its own telecom provider", "authenticator app", "passkey"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text, html, err := r.Render(sample(tt.lang, tt.c))
			if err != nil {
				t.Fatal(err)
			}
			if subject == "" {
				t.Error("empty subject")
			}
			// HTML: compare what a reader sees, or for URLs the markup.
			plainHTML := strings.ToLower(stdhtml.UnescapeString(stripTags(html)))
			rawHTML := stdhtml.UnescapeString(html)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q", w)
				}
				if !strings.Contains(plainHTML, strings.ToLower(w)) && !strings.Contains(rawHTML, w) {
					t.Errorf("html lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(text, n) || strings.Contains(plainHTML, n) {
					t.Errorf("mail contains %q", n)
				}
			}
		})
	}
}

// stripTags removes markup and joins what was split across lines by <br>.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestHostileIncidentTitle(t *testing.T) {
	dir := t.TempDir()
	// An override that puts the feed's title in the subject: the subject
	// must still come out as one capped line.
	write(t, dir, "en.subject.txt", `Outage: {{.IncidentTitle}} ({{.CarrierName}})`)
	for _, dirName := range []string{"", dir} {
		r := mustNew(t, dirName)
		for _, lang := range Languages {
			for _, c := range Combinations() {
				d := sample(lang, c)
				d.IncidentTitle = "<script>alert(1)</script>\r\nBcc: evil@example.com\r\n\x00\x1b" + strings.Repeat("あ<b>", 3000)
				d.IncidentURL = "javascript:alert(1)"
				d.CarrierName = "au\r\nX-Injected: 1"
				subject, text, html, err := r.Render(d)
				if err != nil {
					t.Fatalf("%s %v: %v", lang, c, err)
				}
				if strings.ContainsAny(subject, "\r\n\x00\x1b") {
					t.Errorf("%s %v: subject has control characters: %q", lang, c, subject)
				}
				if n := len([]rune(subject)); n > MaxSubjectRunes {
					t.Errorf("%s %v: subject is %d runes", lang, c, n)
				}
				if strings.Contains(html, "<script>") || strings.Contains(html, "<b>") {
					t.Errorf("%s %v: html has unescaped markup from the title", lang, c)
				}
				if strings.Contains(html, "javascript:") {
					t.Errorf("%s %v: html links to a javascript: URL", lang, c)
				}
				if c.Kind != carrierwatch.KindPreparedness && !strings.Contains(html, "&lt;script&gt;") {
					t.Errorf("%s %v: html lacks the escaped title", lang, c)
				}
				if strings.ContainsAny(text, "\r\x00\x1b") || strings.Contains(text, "\nBcc:") || strings.Contains(text, "\nX-Injected") {
					t.Errorf("%s %v: text keeps the title's line breaks or control characters", lang, c)
				}
				if len(text) > 8000 || len(html) > 16000 {
					t.Errorf("%s %v: title not capped: text %d bytes, html %d bytes", lang, c, len(text), len(html))
				}
			}
		}
	}
}

func TestEmptyLinksAreLeftOut(t *testing.T) {
	r := mustNew(t, "")
	for _, lang := range Languages {
		for _, c := range Combinations() {
			d := sample(lang, c)
			d.Links = Links{}
			d.IncidentURL = ""
			_, text, html, err := r.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(html, "href") {
				t.Errorf("%s %v: html has a link though every link is empty", lang, c)
			}
			if strings.Contains(text, "https://") {
				t.Errorf("%s %v: text has a URL though every link is empty", lang, c)
			}
			for _, line := range strings.Split(text, "\n") {
				if strings.HasSuffix(line, ":") && !strings.HasSuffix(line, "five points:") && !strings.HasSuffix(line, "To use it:") && !strings.HasSuffix(line, "this form:") {
					t.Errorf("%s %v: dangling label %q", lang, c, line)
				}
			}
			if c.Segment == carrierwatch.SegmentPhoneOnly && c.Kind == carrierwatch.KindOutage {
				want := map[string]string{"ja": "ヘルプデスクまでお問い合わせください", "en": "please contact the help desk"}[lang]
				if !strings.Contains(text, want) || !strings.Contains(html, want) {
					t.Errorf("%s %v: without a support form the mail should say %q", lang, c, want)
				}
			}
		}
	}
}

func TestEmptyOptionalFields(t *testing.T) {
	r := mustNew(t, "")
	d := Data{Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentPhoneOnly, Lang: "en", Recipient: Recipient{UPN: "x@example.org"}}
	subject, text, _, err := r.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := subject, "Important: if you cannot sign in during the a mobile carrier outage"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if !strings.HasPrefix(text, "Dear x@example.org,\n") {
		t.Errorf("greeting without a display name: %q", strings.SplitN(text, "\n", 2)[0])
	}
	if strings.Contains(text, "0001") || strings.Contains(text, "Started:") {
		t.Errorf("zero times shown:\n%s", text)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ja.subject.txt", `【テスト】{{.CarrierName}} 障害`)
	write(t, dir, "en.outage.html", `<p>Custom {{.IncidentTitle}}</p>`)
	write(t, dir, "README.md", "not a template")
	r := mustNew(t, dir)

	d := sample("ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp})
	subject, _, html, err := r.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := subject, "【テスト】au / UQ mobile / povo 障害"; got != want {
		t.Errorf("ja subject = %q, want %q", got, want)
	}
	if !strings.Contains(html, "別の方法でサインインする") {
		t.Error("ja html should stay the embedded one")
	}

	d = sample("en", Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp})
	d.IncidentTitle = "<i>x</i>"
	subject, _, html, err = r.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := html, "<p>Custom &lt;i&gt;x&lt;/i&gt;</p>\n"; got != want {
		t.Errorf("en html = %q, want %q", got, want)
	}
	if !strings.HasPrefix(subject, "Important:") {
		t.Errorf("en subject should stay the embedded one, got %q", subject)
	}
}

func TestBrokenOverride(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		content  string
		wantPart string
	}{
		{"parse error", "ja.outage.txt", "{{if .UPN}}unclosed", "ja.outage.txt"},
		{"unknown field", "en.resolved.html", "<p>{{.NoSuchField}}</p>", "en.resolved.html"},
		{"missing partial", "ja.preparedness.txt", `{{template "nosuch" .}}`, "ja.preparedness.txt"},
		{"misspelt name", "ja.outgae.txt", "hello", "not a template name"},
		{"not utf-8", "en.subject.txt", "\xff\xfe", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.file, tt.content)
			_, err := New(dir)
			if err == nil {
				t.Fatal("New accepted a broken override")
			}
			if !strings.Contains(err.Error(), tt.wantPart) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q should name %q and the file's path", err, tt.wantPart)
			}
		})
	}
	if _, err := New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("New accepted a missing override directory")
	}
}

func TestRenderRejects(t *testing.T) {
	r := mustNew(t, "")
	ok := sample("ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentApp})
	tests := []struct {
		name   string
		mutate func(*Data)
	}{
		{"unknown language", func(d *Data) { d.Lang = "es" }},
		{"empty language", func(d *Data) { d.Lang = "" }},
		{"unknown kind", func(d *Data) { d.Kind = "maintenance" }},
		{"unknown segment", func(d *Data) { d.Segment = "fax" }},
		{"outage without segment", func(d *Data) { d.Segment = "" }},
		{"preparedness for app users", func(d *Data) { d.Kind, d.Segment = carrierwatch.KindPreparedness, carrierwatch.SegmentApp }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.mutate(&d)
			if _, _, _, err := r.Render(d); err == nil {
				t.Error("Render accepted it")
			}
		})
	}
}

func TestPreparednessWithoutSegmentIsPhoneOnly(t *testing.T) {
	r := mustNew(t, "")
	for _, lang := range Languages {
		d := sample(lang, Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly})
		s1, t1, h1, err := r.Render(d)
		if err != nil {
			t.Fatal(err)
		}
		d.Segment = ""
		s2, t2, h2, err := r.Render(d)
		if err != nil {
			t.Fatal(err)
		}
		if s1 != s2 || t1 != t2 || h1 != h2 {
			t.Errorf("%s: preparedness with no segment differs from phone-only", lang)
		}
	}
}

func TestLanguage(t *testing.T) {
	tests := []struct {
		preferred, def, want string
	}{
		{"ja-JP", "en", "ja"},
		{"en-US", "ja", "en"},
		{"EN_gb", "ja", "en"},
		{"EN-gb", "ja", "en"},
		{"ja", "en", "ja"},
		{"es-ES", "ja", "ja"},
		{"", "en", "en"},
		{" ", "ja", "ja"},
		{"jav", "en", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.preferred+"->"+tt.want, func(t *testing.T) {
			if got, want := Language(tt.preferred, tt.def), tt.want; got != want {
				t.Errorf("Language(%q, %q) = %q, want %q", tt.preferred, tt.def, got, want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Hello", "Hello"},
		{"crlf", "a\r\nBcc: x@example.org", "a Bcc: x@example.org"},
		{"tabs and runs", " a\t\t b  ", "a b"},
		{"unicode line separator", "a\u2028b\u0085c", "a b c"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"long", strings.Repeat("あ", 200), strings.Repeat("あ", MaxSubjectRunes-1) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := Subject(tt.in), tt.want; got != want {
				t.Errorf("Subject(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestRenderConcurrently(t *testing.T) {
	r := mustNew(t, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for _, c := range Combinations() {
				if _, _, _, err := r.Render(sample(Languages[i%len(Languages)], c)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkRender(b *testing.B) {
	r := mustNew(b, "")
	d := sample("ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
	for b.Loop() {
		if _, _, _, err := r.Render(d); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPersonalSubjectIsNotShared: a subject override that prints or tests
// a personal value gives each user their own subject.
func TestPersonalSubjectIsNotShared(t *testing.T) {
	for name, tc := range map[string]struct {
		subject string
		want    func(who string) string
	}{
		"printed":  {`{{.DisplayName}} 様: {{.CarrierName}} 障害`, func(who string) string { return who + " 様: au / UQ mobile / povo 障害" }},
		"compared": {`{{if eq .DisplayName "Bob"}}Bob!{{else}}others{{end}}`, func(who string) string { return map[bool]string{true: "Bob!", false: "others"}[who == "Bob"] }},
		"phones":   {`{{range .AffectedPhones}}{{.}} {{end}}`, func(who string) string { return "+81 90-****-" + who[:1] + "234" }},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "ja.subject.txt", tc.subject)
			r := mustNew(t, dir)
			for _, who := range []string{"Alice", "Bob", "Carol"} {
				d := sample("ja", Combination{carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly})
				d.DisplayName = who
				d.AffectedPhones = []string{"+81 90-****-" + who[:1] + "234"}
				got, _, _, err := r.Render(d)
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.want(who); got != want {
					t.Fatalf("%s: subject %q, want %q", who, got, want)
				}
			}
		})
	}
}

// TestEveryRecipientFieldReachesItsUser: each field of Recipient, stored as
// the outbox stores it (JSON in Message.Data) and rendered from it, shows
// up in its own user's mail and not in another's. The templates print every
// field, found by reflection, so a field added later is covered too.
func TestEveryRecipientFieldReachesItsUser(t *testing.T) {
	rt := reflect.TypeFor[Recipient]()
	var tmpl strings.Builder
	for f := range rt.Fields() {
		switch f.Type.Kind() {
		case reflect.String:
			fmt.Fprintf(&tmpl, "%s=[{{.%s}}]\n", f.Name, f.Name)
		case reflect.Slice:
			fmt.Fprintf(&tmpl, "%s=[{{join .%s \",\"}}]\n", f.Name, f.Name)
		case reflect.Bool:
			fmt.Fprintf(&tmpl, "%s=[{{.%s}}]\n", f.Name, f.Name)
		default:
			t.Fatalf("Recipient.%s is a %s; teach this test its kind", f.Name, f.Type)
		}
	}
	dir := t.TempDir()
	write(t, dir, "en.outage.txt", tmpl.String())
	write(t, dir, "en.outage.html", "<pre>"+tmpl.String()+"</pre>")
	r := mustNew(t, dir)

	// Two users with a different value in every field.
	users := []string{"alice", "bob"}
	msgs := make([]*carrierwatch.Message, len(users))
	for i, who := range users {
		var rec Recipient
		v := reflect.ValueOf(&rec).Elem()
		for j := range v.NumField() {
			val := fmt.Sprintf("%s-%s", who, rt.Field(j).Name)
			switch v.Field(j).Kind() {
			case reflect.String:
				v.Field(j).SetString(val)
			case reflect.Slice:
				v.Field(j).Set(reflect.ValueOf([]string{val + "-1", val + "-2"}))
			case reflect.Bool:
				v.Field(j).SetBool(i == 0) // alice true, bob false
			}
		}
		data, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = &carrierwatch.Message{ID: int64(i + 1), Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentApp, Lang: "en", Data: data}
	}
	for i, m := range msgs {
		d, err := MessageData(m)
		if err != nil {
			t.Fatal(err)
		}
		_, text, html, err := r.Render(d)
		if err != nil {
			t.Fatal(err)
		}
		for f := range rt.Fields() {
			own := fmt.Sprintf("%s-%s", users[i], f.Name)
			other := fmt.Sprintf("%s-%s", users[1-i], f.Name)
			if f.Type.Kind() == reflect.Bool {
				own, other = fmt.Sprintf("%s=[%v]", f.Name, i == 0), fmt.Sprintf("%s=[%v]", f.Name, i != 0)
			}
			for part, body := range map[string]string{"text": text, "html": html} {
				if !strings.Contains(body, own) {
					t.Errorf("%s's %s part lacks its %s %q:\n%s", users[i], part, f.Name, own, body)
				}
				if strings.Contains(body, other) {
					t.Errorf("%s's %s part has the other user's %s %q", users[i], part, f.Name, other)
				}
			}
		}
	}
}
