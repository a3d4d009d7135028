package csv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

const header = "id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods\n"

func mobile(raw, e164 string) carrierwatch.Phone {
	return carrierwatch.Phone{Type: carrierwatch.PhoneMobile, Raw: raw, E164: e164}
}

// fixtureUser is what testdata/users.csv must give for one user, written by
// hand from the file.
type fixtureUser struct {
	user    carrierwatch.User
	phones  []carrierwatch.Phone
	methods []string
}

var fixtureUsers = []fixtureUser{
	{carrierwatch.User{ID: "0001", UPN: "aoki@example.ac.jp", DisplayName: "青木 花子", Mail: "aoki@example.ac.jp", AlternateEmails: []string{"hanako.aoki@mail.example.com"}, PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{mobile("+81 9081234567", "+819081234567")}, []string{"mobilePhone"}},
	{carrierwatch.User{ID: "0002", UPN: "ito@example.ac.jp", DisplayName: "伊藤 健", Mail: "ito@example.ac.jp", PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{mobile("+81 9081112222", "+819081112222")}, []string{"mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode"}},
	{carrierwatch.User{ID: "0003", UPN: "ueda@example.ac.jp", DisplayName: "上田 彩", Mail: "ueda@example.ac.jp", AlternateEmails: []string{"aya.ueda@mail.example.com"}, PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{mobile("+81 8025556666", "+818025556666"), {Type: carrierwatch.PhoneAlternateMobile, Raw: "+81 9031234567", E164: "+819031234567"}},
		[]string{"mobilePhone", "alternateMobilePhone"}},
	{carrierwatch.User{ID: "0004", UPN: "endo@example.ac.jp", DisplayName: "遠藤 誠", Mail: "endo@example.ac.jp", PreferredLanguage: "ja"},
		[]carrierwatch.Phone{mobile("+81 9031239999", "+819031239999")}, []string{"mobilePhone"}},
	{carrierwatch.User{ID: "0005", UPN: "ota@example.ac.jp", DisplayName: "太田 陽", Mail: "ota@example.ac.jp", AlternateEmails: []string{"you.ota@mail.example.com"}, PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{mobile("+81 09081239876", "+819081239876")}, []string{"mobilePhone"}},
	{carrierwatch.User{ID: "0006", UPN: "kato@example.ac.jp", DisplayName: "加藤 優", Mail: "kato@example.ac.jp", PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{{Type: carrierwatch.PhoneOffice, Raw: "+81 358001234", E164: "+81358001234"}}, []string{"officePhone"}},
	{carrierwatch.User{ID: "0007", UPN: "smith@example.ac.jp", DisplayName: "Alex Smith", Mail: "smith@example.ac.jp", AlternateEmails: []string{"alex.smith@mail.example.org"}, PreferredLanguage: "en-US"},
		[]carrierwatch.Phone{mobile("+81 8029871234", "+818029871234")}, []string{"mobilePhone", "passKeyDeviceBound"}},
	{carrierwatch.User{ID: "0008", UPN: "kimura@example.ac.jp", DisplayName: "木村 蓮", Mail: "kimura@example.ac.jp", PreferredLanguage: "ja-JP"},
		nil, []string{"microsoftAuthenticatorPush", "softwareOneTimePasscode"}},
	{carrierwatch.User{ID: "0009", UPN: "garcia@example.ac.jp", DisplayName: "Maria Garcia", Mail: "garcia@example.ac.jp", AlternateEmails: []string{"maria.g@mail.example.net"}, PreferredLanguage: "es-ES"},
		[]carrierwatch.Phone{mobile("+1 4255550123", "+14255550123")}, []string{"mobilePhone"}},
	{carrierwatch.User{ID: "0010", UPN: "sato@example.ac.jp", DisplayName: "佐藤 翔", Mail: "sato@example.ac.jp", AlternateEmails: []string{"sho.sato@mail.example.com"}, PreferredLanguage: "ja-JP"},
		[]carrierwatch.Phone{mobile("+81 90-8765-4321", "+819087654321")}, []string{"mobilePhone", "email"}},
}

func TestFetchFixture(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var progress []directory.Progress
	up, err := New("testdata/users.csv", "", logger).Fetch(context.Background(), "", func(p directory.Progress) {
		progress = append(progress, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !up.Full || !up.AuthFull {
		t.Errorf("Full = %v, AuthFull = %v; want both true", up.Full, up.AuthFull)
	}
	if up.Cursor != "" || len(up.Removed) != 0 {
		t.Errorf("Cursor = %q, Removed = %q; want none", up.Cursor, up.Removed)
	}
	if len(up.Problems) != 0 {
		t.Errorf("Problems = %q, want none", up.Problems)
	}
	if got, want := len(up.Users), len(fixtureUsers); got != want {
		t.Fatalf("%d users, want %d", got, want)
	}
	if got, want := len(up.Auth), len(fixtureUsers); got != want {
		t.Fatalf("%d auth records, want %d", got, want)
	}
	for i, want := range fixtureUsers {
		t.Run(want.user.ID, func(t *testing.T) {
			if got := up.Users[i]; !reflect.DeepEqual(got, want.user) {
				t.Errorf("user = %+v\nwant   %+v", got, want.user)
			}
			a := up.Auth[i]
			if got, want := a.UserID, want.user.ID; got != want {
				t.Errorf("auth user = %q, want %q", got, want)
			}
			if got, want := a.Phones, want.phones; !reflect.DeepEqual(got, want) {
				t.Errorf("phones = %+v\nwant     %+v", got, want)
			}
			if got, want := a.Methods, want.methods; !reflect.DeepEqual(got, want) {
				t.Errorf("methods = %q, want %q", got, want)
			}
		})
	}
	if got, want := progress, []directory.Progress{{Stage: "users", Done: 10, Total: 10}}; !reflect.DeepEqual(got, want) {
		t.Errorf("progress = %+v, want %+v", got, want)
	}
	if !strings.Contains(logs.String(), "users=10") {
		t.Errorf("log does not report the users: %s", logs.String())
	}
	fixture, err := os.ReadFile("testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	assertNoPersonalData(t, logs.String(), string(fixture))
}

// assertNoPersonalData fails when text holds the last six digits of a
// phone number in content, or the local part of an address in content.
func assertNoPersonalData(t *testing.T, text, content string) {
	t.Helper()
	flat := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(text)
	for _, m := range regexp.MustCompile(`\+?\d[\d ()-]{6,}\d`).FindAllString(content, -1) {
		d := strings.Map(keepDigits, m)
		if tail := d[len(d)-6:]; strings.Contains(text, tail) || strings.Contains(flat, tail) {
			t.Errorf("text holds the end of the number %q:\n%s", m, text)
		}
	}
	for _, m := range regexp.MustCompile(`[A-Za-z0-9._-]{2,}@`).FindAllString(content, -1) {
		if strings.Contains(text, m) {
			t.Errorf("text holds the address %q:\n%s", m, text)
		}
	}
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func fetch(t testing.TB, content string) (*directory.Update, error) {
	t.Helper()
	return New(writeFile(t, content), "", nil).Fetch(context.Background(), "", nil)
}

func TestFetchMalformed(t *testing.T) {
	ok := "9001,a@example.ac.jp,A,a@example.ac.jp,,ja-JP,mobile:+81 9011112222,mobilePhone\n"
	tests := []struct {
		name     string
		content  string
		ids      []string // users, in order
		problems []string // each a substring of one problem, in order
		check    func(t *testing.T, up *directory.Update)
	}{
		{
			name:    "bom",
			content: "\uFEFF" + header + ok,
			ids:     []string{"9001"},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Auth[0].Phones[0].E164, "+819011112222"; got != want {
					t.Errorf("E164 = %q, want %q", got, want)
				}
			},
		},
		{
			name:    "crlf",
			content: strings.ReplaceAll(header+ok+"9002,b@example.ac.jp,B,b@example.ac.jp,,,,fido2\n", "\n", "\r\n"),
			ids:     []string{"9001", "9002"},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Auth[1].Methods, []string{"fido2"}; !reflect.DeepEqual(got, want) {
					t.Errorf("methods = %q, want %q", got, want)
				}
				if got, want := up.Users[0].PreferredLanguage, "ja-JP"; got != want {
					t.Errorf("language = %q, want %q", got, want)
				}
			},
		},
		{
			name: "quoted fields with commas, quotes and line breaks",
			content: header + `9003,c@example.ac.jp,"Smith, Alex ""AJ""",c@example.ac.jp,"x@example.org; y@example.org",en,"mobile:+81 90-1111-2222;office:+81 3-5800-1234 x12","mobilePhone;officePhone"` + "\n" +
				`9004,d@example.ac.jp,"two` + "\n" + `lines",d@example.ac.jp,,,,` + "\n",
			ids: []string{"9003", "9004"},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Users[0].DisplayName, `Smith, Alex "AJ"`; got != want {
					t.Errorf("display name = %q, want %q", got, want)
				}
				if got, want := up.Users[0].AlternateEmails, []string{"x@example.org", "y@example.org"}; !reflect.DeepEqual(got, want) {
					t.Errorf("alternates = %q, want %q", got, want)
				}
				want := []carrierwatch.Phone{
					{Type: carrierwatch.PhoneMobile, Raw: "+81 90-1111-2222", E164: "+819011112222"},
					{Type: carrierwatch.PhoneOffice, Raw: "+81 3-5800-1234 x12", E164: "+81358001234", Extension: "12"},
				}
				if got := up.Auth[0].Phones; !reflect.DeepEqual(got, want) {
					t.Errorf("phones = %+v, want %+v", got, want)
				}
				if got, want := up.Users[1].DisplayName, "two\nlines"; got != want {
					t.Errorf("display name = %q, want %q", got, want)
				}
			},
		},
		{
			name: "columns in any order, upper case, extra and optional left out",
			content: " Methods ,PHONES,Mail,Note,alternate_emails,UPN,ID\n" +
				"mobilePhone,mobile:090-1234-5678,e@example.ac.jp,ignored,,e@example.ac.jp,9005\n",
			ids: []string{"9005"},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Users[0], (carrierwatch.User{ID: "9005", UPN: "e@example.ac.jp", Mail: "e@example.ac.jp"}); !reflect.DeepEqual(got, want) {
					t.Errorf("user = %+v, want %+v", got, want)
				}
				if got, want := up.Auth[0].Phones, []carrierwatch.Phone{mobile("090-1234-5678", "+819012345678")}; !reflect.DeepEqual(got, want) {
					t.Errorf("phones = %+v, want %+v", got, want)
				}
			},
		},
		{
			name:    "wrong column count",
			content: header + "9006,f@example.ac.jp,F,f@example.ac.jp,,ja,mobile:+81 9011112222\n" + ok,
			ids:     []string{"9001"},
			problems: []string{
				"line 2: 7 fields, the header has 8: row skipped",
			},
		},
		{
			name:     "trailing empty fields repaired",
			content:  header + strings.TrimSuffix(ok, "\n") + ",,\n",
			ids:      []string{"9001"},
			problems: []string{"line 2: 10 fields, the header has 8: the empty extra fields were ignored"},
		},
		{
			name:     "empty id",
			content:  header + " ,g@example.ac.jp,G,g@example.ac.jp,,,,\n" + ok,
			ids:      []string{"9001"},
			problems: []string{"line 2: empty id: row skipped"},
		},
		{
			name:     "duplicate id",
			content:  header + ok + strings.Replace(ok, "A,", "Other A,", 1),
			ids:      []string{"9001"},
			problems: []string{`line 3: id "9001" is already on line 2: row skipped`},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Users[0].DisplayName, "A"; got != want {
					t.Errorf("display name = %q, want the first row's %q", got, want)
				}
			},
		},
		{
			name: "bad phones: unknown type, no type, no number, invalid number",
			content: header + "9007,h@example.ac.jp,H,h@example.ac.jp,,,home:+81 9011112222;+81 9033334444;office:;" +
				"mobile:+81 90-1234;alternateMobilePhone:+81 8055556666;+81 90:12345678,mobilePhone\n",
			ids: []string{"9007"},
			problems: []string{
				`line 2 (id "9007"): phones item 1: unknown phone type "home"`,
				`line 2 (id "9007"): phones item 2 has no type`,
				`line 2 (id "9007"): phones item 3 (office) has no number: dropped`,
				`line 2 (id "9007"): phones item 6: unknown phone type (not shown)`,
				`line 2 (id "9007"): mobile phone: normalize phone ***34: invalid phone number: too short for JP (+81): kept without E.164`,
			},
			check: func(t *testing.T, up *directory.Update) {
				want := []carrierwatch.Phone{
					{Type: carrierwatch.PhoneMobile, Raw: "+81 90-1234"},
					{Type: carrierwatch.PhoneAlternateMobile, Raw: "+81 8055556666", E164: "+818055556666"},
				}
				if got := up.Auth[0].Phones; !reflect.DeepEqual(got, want) {
					t.Errorf("phones = %+v, want %+v", got, want)
				}
			},
		},
		{
			name:    "no address",
			content: header + "9008,i@example.ac.jp,I,,,,mobile:+81 9011112222,mobilePhone\n",
			ids:     []string{"9008"},
			problems: []string{
				`line 2 (id "9008"): no mail and no alternate_emails: user kept`,
			},
		},
		{
			name:    "bad addresses masked, duplicates dropped",
			content: header + `9009,j@example.ac.jp,J,jsmith at example.ac.jp,"taro.j@mail.example.com;Taro.J@mail.example.com;Taro <t@x.example>;x",,,` + "\n",
			ids:     []string{"9009"},
			problems: []string{
				`line 2 (id "9009"): mail "***" is not an e-mail address: ignored`,
				`line 2 (id "9009"): alternate_emails item 3, "t***@x.example", is not an e-mail address: ignored`,
				`line 2 (id "9009"): alternate_emails item 4, "***", is not an e-mail address`,
			},
			check: func(t *testing.T, up *directory.Update) {
				if got, want := up.Users[0].AlternateEmails, []string{"taro.j@mail.example.com"}; !reflect.DeepEqual(got, want) {
					t.Errorf("alternates = %q, want %q", got, want)
				}
				if got := up.Users[0].Mail; got != "" {
					t.Errorf("mail = %q, want none", got)
				}
			},
		},
		{
			name:     "shift_jis bytes repaired",
			content:  header + "9010,k@example.ac.jp,\x90\xc2\x96\xd8,k@example.ac.jp,,,,fido2\n",
			ids:      []string{"9010"},
			problems: []string{`line 2 (id "9010"): not valid UTF-8`},
			check: func(t *testing.T, up *directory.Update) {
				if got := up.Users[0].DisplayName; !strings.Contains(got, "\uFFFD") {
					t.Errorf("display name = %q, want U+FFFD", got)
				}
			},
		},
		{
			name:     "bare quote skips one row",
			content:  header + `9011,l@example.ac.jp,L "the" one,l@example.ac.jp,,,,fido2` + "\n" + ok,
			ids:      []string{"9001"},
			problems: []string{`line 2: bare " in non-quoted-field: row skipped`},
		},
		{
			name:     "unclosed quote",
			content:  header + ok + `9012,m@example.ac.jp,"M,m@example.ac.jp,,,,fido2` + "\n" + strings.Replace(ok, "9001", "9013", 1),
			ids:      []string{"9001"},
			problems: []string{"line 3: extraneous or missing \" in quoted-field: row skipped (an unclosed quote runs to the end of the file"},
		},
		{
			name:    "blank lines, phone type aliases, duplicate methods",
			content: header + "\n" + "9014,n@example.ac.jp,N,n@example.ac.jp,,,MobilePhone:+81 9011112222;OFFICE:03-5800-1234,mobilePhone; mobilePhone ;;fido2\n\n",
			ids:     []string{"9014"},
			check: func(t *testing.T, up *directory.Update) {
				a := up.Auth[0]
				want := []carrierwatch.Phone{mobile("+81 9011112222", "+819011112222"), {Type: carrierwatch.PhoneOffice, Raw: "03-5800-1234", E164: "+81358001234"}}
				if !reflect.DeepEqual(a.Phones, want) {
					t.Errorf("phones = %+v, want %+v", a.Phones, want)
				}
				if got, want := a.Methods, []string{"mobilePhone", "fido2"}; !reflect.DeepEqual(got, want) {
					t.Errorf("methods = %q, want %q", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, err := fetch(t, tt.content)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, u := range up.Users {
				ids = append(ids, u.ID)
				if got, want := up.Auth[i].UserID, u.ID; got != want {
					t.Errorf("Auth[%d] is for %q, Users[%d] is %q", i, got, i, want)
				}
			}
			if !reflect.DeepEqual(ids, tt.ids) {
				t.Errorf("users = %q, want %q", ids, tt.ids)
			}
			if got, want := len(up.Problems), len(tt.problems); got != want {
				t.Errorf("%d problems, want %d:\n%s", got, want, strings.Join(up.Problems, "\n"))
			}
			for i, want := range tt.problems {
				if i < len(up.Problems) && !strings.Contains(up.Problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, up.Problems[i], want)
				}
			}
			assertNoPersonalData(t, strings.Join(up.Problems, "\n"), tt.content)
			if tt.check != nil {
				tt.check(t, up)
			}
		})
	}
}

func TestFetchBadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"empty file", "", []string{"empty file: want a header row id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods"}},
		{"only a bom", "\uFEFF", []string{"empty file"}},
		{"missing column", "id,upn,display_name,mail,alternate_emails,preferred_language,methods\n", []string{`missing column "phones"`}},
		{"missing columns", "id,upn,mail,alternate_emails\n", []string{`missing column "phones", "methods"`}},
		{"data instead of a header", "0001,aoki@example.ac.jp,x,aoki@example.ac.jp,,ja-JP,mobile:+81 9081234567,mobilePhone\n",
			[]string{`missing column "id", "upn", "mail", "alternate_emails", "phones", "methods"`}},
		{"duplicate column", strings.TrimSuffix(header, "\n") + ",phones\n", []string{`column "phones" appears twice (columns 7 and 9)`}},
		{"header only", header, []string{"no valid user rows (0 rows read"}},
		{"every row bad", header + ",a,b\n,c,d\n", []string{"no valid user rows (2 rows read, 2 problems)"}},
		{"broken header", "id,\"upn\n", []string{"header row"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, err := fetch(t, tt.content)
			if err == nil {
				t.Fatalf("Fetch = %+v, want an error", up)
			}
			if up != nil {
				t.Errorf("Fetch returned an update with its error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			assertNoPersonalData(t, err.Error(), tt.content)
		})
	}
}

func TestFetchMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.csv")
	_, err := New(path, "", nil).Fetch(context.Background(), "", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
}

func TestFetchRereadsFile(t *testing.T) {
	path := writeFile(t, header+"1,a@example.ac.jp,A,a@example.ac.jp,,,,fido2\n")
	p := New(path, "", nil)
	for _, want := range []string{"1", "2"} {
		if err := os.WriteFile(path, []byte(header+want+",a@example.ac.jp,A,a@example.ac.jp,,,,fido2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		up, err := p.Fetch(context.Background(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := up.Users[0].ID; got != want {
			t.Errorf("id = %q, want %q", got, want)
		}
	}
}

func TestFetchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New("testdata/users.csv", "", nil).Fetch(ctx, "", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestFetchProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "1,a@example.ac.jp,A,a@example.ac.jp,,,,fido2\n")
	for range 1500 {
		b.WriteString(",no,id,here,,,,\n")
	}
	up, err := fetch(t, b.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(up.Problems), maxProblems+1; got != want {
		t.Fatalf("%d problems, want %d", got, want)
	}
	if got, want := up.Problems[maxProblems], "500 more problems not listed"; got != want {
		t.Errorf("last problem = %q, want %q", got, want)
	}
}

// generate writes a users file of n rows: every third user has an
// alternate mobile, every fifth an app.
func generate(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	var b bytes.Buffer
	b.WriteString(header)
	for i := range n {
		phones := fmt.Sprintf("mobile:+81 90%08d", 12345678+i)
		if i%3 == 0 {
			phones += fmt.Sprintf(";alternateMobile:+81 80-1%03d-%04d", i/10000, i%10000)
		}
		methods := "mobilePhone"
		if i%5 == 0 {
			methods += ";microsoftAuthenticatorPush"
		}
		fmt.Fprintf(&b, "u%06d,user%06d@example.ac.jp,利用者 %d,user%06d@example.ac.jp,user%06d@mail.example.com,ja-JP,%s,%s\n",
			i, i, i, i, i, phones, methods)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFetchGenerated10k(t *testing.T) {
	const n = 10000
	var progress []directory.Progress
	up, err := New(generate(t, n), "", nil).Fetch(context.Background(), "", func(p directory.Progress) {
		progress = append(progress, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(up.Users), n; got != want {
		t.Errorf("%d users, want %d", got, want)
	}
	if len(up.Problems) != 0 {
		t.Errorf("problems: %q", up.Problems[:min(5, len(up.Problems))])
	}
	phones := 0
	for _, a := range up.Auth {
		for _, p := range a.Phones {
			if p.E164 == "" {
				t.Fatalf("user %s: phone without E.164", a.UserID)
			}
			phones++
		}
	}
	if got, want := phones, n+(n+2)/3; got != want {
		t.Errorf("%d phones, want %d", got, want)
	}
	want := []directory.Progress{{Stage: "users", Done: 5000}, {Stage: "users", Done: 10000}, {Stage: "users", Done: 10000, Total: 10000}}
	if !reflect.DeepEqual(progress, want) {
		t.Errorf("progress = %+v, want %+v", progress, want)
	}
}

// BenchmarkFetch100k reads a generated file of 100,000 users (133,334
// phones) per iteration.
func BenchmarkFetch100k(b *testing.B) {
	path := generate(b, 100000)
	p := New(path, "", nil)
	b.ReportAllocs()
	for b.Loop() {
		up, err := p.Fetch(context.Background(), "", nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(up.Users) != 100000 {
			b.Fatalf("%d users", len(up.Users))
		}
	}
}
