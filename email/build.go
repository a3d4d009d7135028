package email

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	msg.Subject(oneLine(m.Subject, maxSubjectRunes))
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
	if lang := oneLine(m.Lang, 16); lang != "" {
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

// oneLine turns control characters (CR, LF, tab, …) into spaces, collapses
// runs of spaces, trims, and cuts s to max runes.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// crlf puts text in MIME's canonical form: CRLF line ends.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func maskAddresses(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = carrierwatch.MaskAddress(a)
	}
	return out
}

// The SMTP transport does not go through go-mail's Msg: composing one costs
// more than the rest of a send. compose writes the very bytes that Build's
// message writes (the same headers in the same order, folded the same way,
// the same base64 bodies), straight into a reused buffer, ready for DATA.
// TestComposeMatchesBuild holds the two to the same output.

// Layout of the message, as go-mail writes it.
const (
	maxHeaderLine = 76 // go-mail's MaxHeaderLength
	b64LineIn     = 57 // input bytes per 76-character base64 line
	textPartHead  = "Content-Transfer-Encoding: base64\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
	htmlPartHead  = "Content-Transfer-Encoding: base64\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
)

// wire is a message composed for SMTP. Its buffers are reused through
// wirePool.
type wire struct {
	// rcpts are the envelope recipients, "<addr>" each.
	rcpts []string
	// data is the message: CRLF line ends, not dot-stuffed, ending in
	// CRLF, with room after it for dataEnd.
	data []byte
	// body is scratch space for a body in canonical form.
	body []byte
}

// maxPooledWire caps the buffers kept for reuse, so one huge mail does not
// pin its memory.
const maxPooledWire = 256 << 10

var wirePool = sync.Pool{New: func() any {
	return &wire{data: make([]byte, 0, 8<<10), body: make([]byte, 0, 4<<10)}
}}

func getWire() *wire { return wirePool.Get().(*wire) }

func putWire(w *wire) {
	if cap(w.data) > maxPooledWire || cap(w.body) > maxPooledWire {
		return
	}
	clear(w.rcpts)
	w.rcpts, w.data, w.body = w.rcpts[:0], w.data[:0], w.body[:0]
	wirePool.Put(w)
}

// fromParts is a From header value taken apart once for many messages.
type fromParts struct {
	envelope string // "<addr>"
	header   []byte // the folded "From: …\r\n" line
	// subject keeps the last Subject and its header value: the mails of
	// one run mostly share it.
	subject *atomic.Pointer[[2]string]
}

// subjectValue is the Subject header value for subject: one line, cut,
// in RFC 2047 words when it is not ASCII.
func (f *fromParts) subjectValue(subject string) string {
	if last := f.subject.Load(); last != nil && last[0] == subject {
		return last[1]
	}
	v := mime.BEncoding.Encode(string(mail.CharsetUTF8), oneLine(subject, maxSubjectRunes))
	f.subject.Store(&[2]string{subject, v})
	return v
}

func parseFrom(from string) (fromParts, error) {
	if err := checkAddress("from", from); err != nil {
		return fromParts{}, err
	}
	a, err := netmail.ParseAddress(from)
	if err != nil { // checked above; kept for safety
		return fromParts{}, fmt.Errorf("from address %s: %w", carrierwatch.MaskAddress(from), err)
	}
	return fromParts{
		envelope: (&netmail.Address{Address: a.Address}).String(),
		header:   appendHeader(nil, "From", a.String()),
		subject:  new(atomic.Pointer[[2]string]),
	}, nil
}

// compose validates m as Build does and writes its message into w.
func compose(w *wire, from *fromParts, m *carrierwatch.Mail) error {
	if m == nil {
		return fmt.Errorf("build mail: %w: nil mail", ErrInvalidMail)
	}
	invalid := func(err error) error {
		return fmt.Errorf("build mail %s: %w: %w", m.MessageID, ErrInvalidMail, err)
	}
	if err := validateID(m); err != nil {
		return invalid(err)
	}
	if len(m.To) == 0 {
		return invalid(errors.New("no recipients"))
	}
	// Parse each recipient once: for the check, the envelope and the To
	// header. The header goes into body, which is free until the bodies.
	toHeader := w.body[:0]
	for i, to := range m.To {
		if err := checkLine("to", to); err != nil {
			return invalid(fmt.Errorf("recipient %d: %w", i+1, err))
		}
		a, err := netmail.ParseAddress(to)
		if err != nil {
			return invalid(fmt.Errorf("recipient %d: to address %s: %w", i+1, carrierwatch.MaskAddress(to), err))
		}
		w.rcpts = append(w.rcpts, (&netmail.Address{Address: a.Address}).String())
		if i > 0 {
			toHeader = append(toHeader, ", "...)
		}
		toHeader = append(toHeader, a.String()...)
	}
	if err := validateRest(m); err != nil {
		return invalid(err)
	}

	// go-mail writes its generic headers sorted by name, then From and To.
	d := w.data[:0]
	d = appendGenHeader(d, HeaderAutoSubmitted, "auto-generated")
	if lang := oneLine(m.Lang, 16); lang != "" {
		d = appendGenHeader(d, string(mail.HeaderContentLang), lang)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	var dateBuf [40]byte
	d = appendHeader(d, "Date", string(date.AppendFormat(dateBuf[:0], time.RFC1123Z)))
	d = append(d, "MIME-Version: 1.0\r\n"...)
	d = appendHeader(d, "Message-ID", "<"+m.MessageID+">")
	d = appendHeader(d, "Subject", from.subjectValue(m.Subject))
	d = append(d, "X-Auto-Response-Suppress: All\r\n"...)
	if m.IncidentID != 0 && m.Kind != carrierwatch.KindPreparedness {
		var n [20]byte
		d = appendHeader(d, HeaderIncident, string(strconv.AppendInt(n[:0], m.IncidentID, 10)))
	}
	d = appendGenHeader(d, HeaderKind, string(m.Kind))
	if m.Segment != "" {
		d = appendGenHeader(d, HeaderSegment, string(m.Segment))
	}
	d = append(d, from.header...)
	d = appendHeader(d, "To", string(toHeader))
	w.body = toHeader[:0] // keep what it grew to

	if m.HTML == "" {
		d = append(d, textPartHead...)
		w.body = appendCRLF(w.body[:0], m.Text)
		d = appendBase64Lines(d, w.body)
		w.data = slices.Grow(d, len(dataEnd))
		return nil
	}
	boundary := newBoundary()
	d = append(d, "Content-Type: multipart/alternative;\r\n boundary="...)
	d = append(d, boundary[:]...)
	d = append(d, "\r\n\r\n--"...)
	d = append(d, boundary[:]...)
	d = append(d, "\r\n"+textPartHead...)
	w.body = appendCRLF(w.body[:0], m.Text)
	d = appendBase64Lines(d, w.body)
	d = append(d, "\r\n--"...)
	d = append(d, boundary[:]...)
	d = append(d, "\r\n"+htmlPartHead...)
	w.body = appendCRLF(w.body[:0], m.HTML)
	d = appendBase64Lines(d, w.body)
	d = append(d, "\r\n--"...)
	d = append(d, boundary[:]...)
	d = append(d, "--\r\n"...)
	w.data = slices.Grow(d, len(dataEnd))
	return nil
}

// appendGenHeader appends a header the way go-mail's SetGenHeader has it:
// the value as RFC 2047 words when it is not printable ASCII.
func appendGenHeader(dst []byte, key, value string) []byte {
	return appendHeader(dst, key, mime.BEncoding.Encode(string(mail.CharsetUTF8), value))
}

// appendHeader appends "key: value\r\n", folded as go-mail folds: before a
// space-separated word that would bring the line to maxHeaderLine, with no
// space left at the end of a line.
func appendHeader(dst []byte, key, value string) []byte {
	room := maxHeaderLine - 2 - len(key) - 2
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	for rest := value; ; {
		word, after, more := strings.Cut(rest, " ")
		if room-len(word) <= 1 {
			if n := len(dst); dst[n-1] == ' ' {
				dst = dst[:n-1]
			}
			dst = append(dst, "\r\n "...)
			room = maxHeaderLine - 3
		}
		dst = append(dst, word...)
		room -= len(word)
		if !more {
			break
		}
		dst = append(dst, ' ')
		room--
		rest = after
	}
	return append(dst, "\r\n"...)
}

// appendCRLF appends s with every line end (CRLF, LF or a lone CR) made
// CRLF, as crlf does.
func appendCRLF(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s)+len(s)/32)
	if strings.IndexByte(s, '\r') < 0 { // the usual case: LF only
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return append(dst, s...)
			}
			dst = append(dst, s[:i]...)
			dst = append(dst, "\r\n"...)
			s = s[i+1:]
		}
	}
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, "\r\n"...)
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// appendBase64Lines appends src in base64, in lines of 76 characters
// ending in CRLF, as go-mail's line breaker writes it.
func appendBase64Lines(dst, src []byte) []byte {
	if len(src) == 0 {
		return dst
	}
	enc := base64.StdEncoding
	n := enc.EncodedLen(len(src))
	lines := (len(src) + b64LineIn - 1) / b64LineIn
	dst = slices.Grow(dst, n+2*lines)
	for len(src) > 0 {
		k := min(len(src), b64LineIn)
		at := len(dst)
		dst = dst[:at+enc.EncodedLen(k)]
		enc.Encode(dst[at:], src[:k])
		dst = append(dst, "\r\n"...)
		src = src[k:]
	}
	return dst
}

// newBoundary returns a random multipart boundary of 60 hex digits, the
// form go-mail uses. Base64 bodies never contain "--", so it needs to be
// unpredictable, not secret.
func newBoundary() [60]byte {
	var raw [32]byte
	for i := 0; i < len(raw); i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], rand.Uint64())
	}
	var b [60]byte
	hex.Encode(b[:], raw[:30])
	return b
}
