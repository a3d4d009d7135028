package email

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wneessen/go-mail"

	"github.com/carrierwatch/carrierwatch"
)

// Headers of the contract (DESIGN.md) that Build sets besides the standard
// ones.
const (
	HeaderAutoSubmitted = "Auto-Submitted"
	HeaderKind          = "X-Carrierwatch-Kind"
	HeaderSegment       = "X-Carrierwatch-Segment"
	HeaderIncident      = "X-Carrierwatch-Incident"
)

// maxSubjectRunes caps the Subject header; templates cap it lower already.
const maxSubjectRunes = 250

// ErrInvalidMail is wrapped by Build's errors: the mail can never be sent
// as it is.
var ErrInvalidMail = errors.New("invalid mail")

// Build returns the MIME message for m, from the From header value from
// ("IT Help <mfa-noreply@example.ac.jp>"). Every header value is made one
// line; a recipient, sender or Message-ID that would need cleaning is an
// error wrapping ErrInvalidMail instead. A mail without HTML is sent as
// text only.
func Build(from string, m *carrierwatch.Mail) (*mail.Msg, error) {
	if m == nil {
		return nil, fmt.Errorf("build mail: %w: nil mail", ErrInvalidMail)
	}
	if err := validate(from, m); err != nil {
		return nil, fmt.Errorf("build mail %s: %w: %w", m.MessageID, ErrInvalidMail, err)
	}
	msg := mail.NewMsg(
		mail.WithCharset(mail.CharsetUTF8),
		// Base64: Japanese text is a third of the size it is in
		// quoted-printable.
		mail.WithEncoding(mail.EncodingB64),
		mail.WithNoDefaultUserAgent(),
	)
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("build mail %s: %w: from: %w", m.MessageID, ErrInvalidMail, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("build mail %s: %w: to: %w", m.MessageID, ErrInvalidMail, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("build mail %s: %w: reply-to: %w", m.MessageID, ErrInvalidMail, err)
		}
	}
	if m.ReturnPath != "" {
		// The SMTP transport's MAIL FROM (GetSender); not a header.
		if err := msg.EnvelopeFrom(m.ReturnPath); err != nil {
			return nil, fmt.Errorf("build mail %s: %w: return path: %w", m.MessageID, ErrInvalidMail, err)
		}
	}
	msg.Subject(carrierwatch.OneLine(m.Subject, maxSubjectRunes))
	msg.SetMessageIDWithValue(m.MessageID)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader(HeaderAutoSubmitted, "auto-generated")
	// Ask Exchange and others not to answer with out-of-office replies.
	msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader(HeaderKind, string(m.Kind))
	if m.Segment != "" {
		msg.SetGenHeader(HeaderSegment, string(m.Segment))
	}
	if lang := carrierwatch.OneLine(m.Lang, 16); lang != "" {
		msg.SetGenHeader(mail.HeaderContentLang, lang)
	}
	if m.IncidentID != 0 && m.Kind != carrierwatch.KindPreparedness {
		msg.SetGenHeader(HeaderIncident, strconv.FormatInt(m.IncidentID, 10))
	}
	msg.SetBodyString(mail.TypeTextPlain, crlf(m.Text))
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, crlf(m.HTML))
	}
	return msg, nil
}

func validate(from string, m *carrierwatch.Mail) error {
	if err := validateID(m); err != nil {
		return err
	}
	if err := checkAddress("from", from); err != nil {
		return err
	}
	for name, a := range map[string]string{"reply-to": m.ReplyTo, "return path": m.ReturnPath} {
		if a == "" {
			continue
		}
		if err := checkAddress(name, a); err != nil {
			return err
		}
	}
	if len(m.To) == 0 {
		return errors.New("no recipients")
	}
	for i, to := range m.To {
		if err := checkAddress("to", to); err != nil {
			return fmt.Errorf("recipient %d: %w", i+1, err)
		}
	}
	return validateRest(m)
}

func validateID(m *carrierwatch.Mail) error {
	if err := checkLine("message id", m.MessageID); err != nil {
		return err
	}
	if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<> \t") || !isASCII(m.MessageID) {
		return fmt.Errorf("message id %q: want printable ASCII without spaces or angle brackets", m.MessageID)
	}
	return nil
}

// validateRest checks what validate checks after the addresses.
func validateRest(m *carrierwatch.Mail) error {
	if !m.Kind.Valid() {
		return fmt.Errorf("kind %q", m.Kind)
	}
	if m.Segment != "" && !m.Segment.Valid() {
		return fmt.Errorf("segment %q", m.Segment)
	}
	if m.IncidentID < 0 {
		return fmt.Errorf("incident id %d", m.IncidentID)
	}
	if strings.TrimSpace(m.Text) == "" {
		return errors.New("empty text body")
	}
	return nil
}

// checkAddress refuses an address with control characters (a header
// injection attempt or a broken directory entry) rather than repairing it.
func checkAddress(what, s string) error {
	if err := checkLine(what, s); err != nil {
		return err
	}
	if _, err := netmail.ParseAddress(s); err != nil {
		return fmt.Errorf("%s address %s: %w", what, carrierwatch.MaskAddress(s), err)
	}
	return nil
}

func checkLine(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%s contains a control character", what)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// crlf puts text in MIME's canonical form: CRLF line ends.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
