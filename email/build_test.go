package email

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestBuildHeaders(t *testing.T) {
	tests := []struct {
		name         string
		mutate       func(*carrierwatch.Mail)
		wantSegment  string
		wantIncident string
		wantParts    int
	}{
		{"outage", func(*carrierwatch.Mail) {}, "phone-only", "42", 2},
		{"preparedness has no incident", func(m *carrierwatch.Mail) {
			m.Kind, m.Segment, m.IncidentID = carrierwatch.KindPreparedness, "", 0
		}, "", "", 2},
		{"preparedness ignores a stray incident id", func(m *carrierwatch.Mail) {
			m.Kind, m.IncidentID = carrierwatch.KindPreparedness, 7
		}, "phone-only", "", 2},
		{"text only", func(m *carrierwatch.Mail) { m.HTML = "" }, "phone-only", "42", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMail(1)
			tt.mutate(m)
			msg, err := Build(testFrom, m)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := msg.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			if tt.wantParts == 1 {
				if !bytes.Contains(data, []byte("Content-Type: text/plain; charset=UTF-8")) || bytes.Contains(data, []byte("multipart")) {
					t.Errorf("a text-only mail should be a single text/plain part:\n%s", data)
				}
				return
			}
			p := parseMessage(t, data)
			if got, want := p.header.Get("X-Carrierwatch-Segment"), tt.wantSegment; got != want {
				t.Errorf("segment header = %q, want %q", got, want)
			}
			if _, ok := p.header["X-Carrierwatch-Segment"]; ok != (tt.wantSegment != "") {
				t.Errorf("segment header present = %v", ok)
			}
			if got, want := p.header.Get("X-Carrierwatch-Incident"), tt.wantIncident; got != want {
				t.Errorf("incident header = %q, want %q", got, want)
			}
			if _, ok := p.header["X-Carrierwatch-Incident"]; ok != (tt.wantIncident != "") {
				t.Errorf("incident header present = %v", ok)
			}
			if got, want := p.header.Get("Auto-Submitted"), "auto-generated"; got != want {
				t.Errorf("Auto-Submitted = %q, want %q", got, want)
			}
			if ua := p.header.Get("User-Agent") + p.header.Get("X-Mailer"); ua != "" {
				t.Errorf("library user agent leaks: %q", ua)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*carrierwatch.Mail)
	}{
		{"no recipients", func(m *carrierwatch.Mail) { m.To = nil }},
		{"bad recipient", func(m *carrierwatch.Mail) { m.To = []string{"not an address"} }},
		{"no message id", func(m *carrierwatch.Mail) { m.MessageID = "" }},
		{"message id with brackets", func(m *carrierwatch.Mail) { m.MessageID = "<a@b>" }},
		{"unknown kind", func(m *carrierwatch.Mail) { m.Kind = "test" }},
		{"unknown segment", func(m *carrierwatch.Mail) { m.Segment = "fax" }},
		{"empty text", func(m *carrierwatch.Mail) { m.Text = " \n" }},
		{"negative incident", func(m *carrierwatch.Mail) { m.IncidentID = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMail(1)
			tt.mutate(m)
			if _, err := Build(testFrom, m); !errors.Is(err, ErrInvalidMail) {
				t.Errorf("error = %v, want ErrInvalidMail", err)
			}
		})
	}
	if _, err := Build(testFrom, nil); !errors.Is(err, ErrInvalidMail) {
		t.Errorf("nil mail: %v", err)
	}
}

func TestOneLine(t *testing.T) {
	if got, want := oneLine("a\r\nb\tc  d\x00", 100), "a b c d"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
	if got, want := oneLine(strings.Repeat("x", 10), 5), "xxxx…"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}

func BenchmarkBuild(b *testing.B) {
	m := testMail(1)
	var buf bytes.Buffer
	for b.Loop() {
		msg, err := Build(testFrom, m)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if _, err := msg.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

var boundaryRE = regexp.MustCompile(`boundary=([0-9a-f]+)`)

// TestComposeMatchesBuild holds the SMTP transport's own composer to the
// bytes of go-mail's message from Build, but for the random boundary.
func TestComposeMatchesBuild(t *testing.T) {
	tests := []struct {
		name   string
		from   string
		mutate func(*carrierwatch.Mail)
	}{
		{"outage", testFrom, func(*carrierwatch.Mail) {}},
		{"text only", testFrom, func(m *carrierwatch.Mail) { m.HTML = "" }},
		{"preparedness", testFrom, func(m *carrierwatch.Mail) {
			m.Kind, m.Segment, m.IncidentID = carrierwatch.KindPreparedness, "", 0
		}},
		{"language", testFrom, func(m *carrierwatch.Mail) { m.Lang = "ja" }},
		{"language not ascii", testFrom, func(m *carrierwatch.Mail) { m.Lang = "日本語" }},
		{"long ascii subject", "IT Help <mfa-noreply@example.ac.jp>", func(m *carrierwatch.Mail) {
			m.Subject = strings.Repeat("Sign-in help during the outage ", 8) + strings.Repeat("x", 90)
		}},
		{"subject with injection", testFrom, func(m *carrierwatch.Mail) {
			m.Subject = "Hello\r\nBcc: evil@example.com\n\n.body"
		}},
		{"short subject", "mfa-noreply@example.ac.jp", func(m *carrierwatch.Mail) { m.Subject = "x" }},
		{"empty subject", testFrom, func(m *carrierwatch.Mail) { m.Subject = "" }},
		{"named recipients", `"Help, IT" <mfa-noreply@example.ac.jp>`, func(m *carrierwatch.Mail) {
			m.To = []string{"山田 太郎 <taro.yamada@example.ac.jp>", `"Yamada, Taro" <taro.alt@example.net>`, "x@example.org"}
		}},
		{"many recipients", testFrom, func(m *carrierwatch.Mail) {
			m.To = nil
			for i := range 9 {
				m.To = append(m.To, fmt.Sprintf("user%02d.with.a.long.name@example.ac.jp", i))
			}
		}},
		{"line ends", testFrom, func(m *carrierwatch.Mail) {
			m.Text = "a\rb\r\nc\n\rd\n.\n..\r\n"
			m.HTML = "<p>\r</p>\n"
		}},
		{"body of whole base64 lines", testFrom, func(m *carrierwatch.Mail) {
			m.Text = strings.Repeat("y", 57*3)
			m.HTML = strings.Repeat("z", 56)
		}},
		{"long message id", testFrom, func(m *carrierwatch.Mail) {
			m.MessageID = strings.Repeat("id", 50) + "@carrierwatch.example.ac.jp"
		}},
	}
	// Subjects whose words end at every column, for the folding.
	for n := range 40 {
		var words []string
		for j := range 12 {
			words = append(words, strings.Repeat("w", 1+(n+j*j)%(20+n)))
		}
		subject := strings.Join(words, " ")
		tests = append(tests, struct {
			name   string
			from   string
			mutate func(*carrierwatch.Mail)
		}{fmt.Sprintf("folding %d", n), testFrom, func(m *carrierwatch.Mail) { m.Subject = subject }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMail(1)
			tt.mutate(m)
			msg, err := Build(tt.from, m)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := msg.WriteTo(&want); err != nil {
				t.Fatal(err)
			}
			from, err := parseFrom(tt.from)
			if err != nil {
				t.Fatal(err)
			}
			w := getWire()
			defer putWire(w)
			if err := compose(w, &from, m); err != nil {
				t.Fatal(err)
			}
			got := w.data
			if m.HTML != "" {
				wb, gb := boundaryRE.FindSubmatch(want.Bytes()), boundaryRE.FindSubmatch(got)
				if wb == nil || gb == nil {
					t.Fatalf("no boundary in go-mail's message (%v) or ours (%v)", wb != nil, gb != nil)
				}
				got = bytes.ReplaceAll(got, gb[1], wb[1])
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("composed message differs from Build's:\n--- got\n%s\n--- want\n%s", got, want.Bytes())
			}
			rcpts, err := msg.GetRecipients()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(w.rcpts, ","), strings.Join(rcpts, ","); got != want {
				t.Errorf("envelope recipients = %q, want %q", got, want)
			}
			sender, err := msg.GetSender(false)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := from.envelope, sender; got != want {
				t.Errorf("envelope sender = %q, want %q", got, want)
			}
		})
	}
}

// TestComposeRejects holds compose to Build's refusals.
func TestComposeRejects(t *testing.T) {
	from, err := parseFrom(testFrom)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*carrierwatch.Mail)
	}{
		{"no recipients", func(m *carrierwatch.Mail) { m.To = nil }},
		{"bad recipient", func(m *carrierwatch.Mail) { m.To = []string{"taro@example.org", "not an address"} }},
		{"recipient with newline", func(m *carrierwatch.Mail) { m.To = []string{"a@example.org\r\nBcc: evil@example.com"} }},
		{"no message id", func(m *carrierwatch.Mail) { m.MessageID = "" }},
		{"message id with brackets", func(m *carrierwatch.Mail) { m.MessageID = "<a@b>" }},
		{"unknown kind", func(m *carrierwatch.Mail) { m.Kind = "test" }},
		{"unknown segment", func(m *carrierwatch.Mail) { m.Segment = "fax" }},
		{"empty text", func(m *carrierwatch.Mail) { m.Text = " \n" }},
		{"negative incident", func(m *carrierwatch.Mail) { m.IncidentID = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMail(1)
			tt.mutate(m)
			w := getWire()
			defer putWire(w)
			err := compose(w, &from, m)
			if !errors.Is(err, ErrInvalidMail) {
				t.Errorf("error = %v, want ErrInvalidMail", err)
			}
			if _, berr := Build(testFrom, m); !errors.Is(berr, ErrInvalidMail) {
				t.Errorf("Build accepts what compose refuses: %v", err)
			}
			if strings.Contains(fmt.Sprint(err), "taro@") {
				t.Errorf("error shows an address unmasked: %v", err)
			}
		})
	}
	w := getWire()
	defer putWire(w)
	if err := compose(w, &from, nil); !errors.Is(err, ErrInvalidMail) {
		t.Errorf("nil mail: %v", err)
	}
}

func TestAppendCRLF(t *testing.T) {
	for _, s := range []string{"", "a", "a\n", "a\r", "a\r\n", "\r\n\r\n", "\n\r", "a\rb\nc\r\nd", "x\r\r\n\n"} {
		if got, want := string(appendCRLF(nil, s)), crlf(s); got != want {
			t.Errorf("appendCRLF(%q) = %q, want %q", s, got, want)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	m := testMail(1)
	from, err := parseFrom(testFrom)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := getWire()
		if err := compose(w, &from, m); err != nil {
			b.Fatal(err)
		}
		putWire(w)
	}
}

func TestComposeSubjectChanges(t *testing.T) {
	from, err := parseFrom(testFrom)
	if err != nil {
		t.Fatal(err)
	}
	for i, subject := range []string{"件名 A", "Subject B", "件名 A", "件名 A", "Line\nbreak"} {
		m := testMail(i)
		m.Subject = subject
		w := getWire()
		if err := compose(w, &from, m); err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, w.data)
		putWire(w)
		if got, want := p.subject, oneLine(subject, maxSubjectRunes); got != want {
			t.Errorf("mail %d: subject = %q, want %q", i, got, want)
		}
	}
}
