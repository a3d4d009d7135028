package email

import (
	"bytes"
	"errors"
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
