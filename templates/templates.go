package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/carrierwatch/carrierwatch"
)

// Links are the organisation's pages the mails point to. An empty link is
// left out of the mail.
type Links struct {
	// SupportForm is where a locked-out user asks for an MFA reset; it
	// may carry the placeholders of FillLink.
	SupportForm string
	// SupportFormWithoutSignIn says the form works without signing in
	// (the mails then say so; else they say what to do if it asks).
	SupportFormWithoutSignIn bool
	MFASetup                 string // how to register an authenticator app or passkey
	Notice                   string // the organisation's own notice about the outage
}

// Recipient is the part of a mail that is about its user, frozen into the
// outbox message when the mail is planned (Message.Data, as this struct's
// JSON) and rendered from directly: a new per-user value is a field here
// and its use in the templates, nothing else. Phone numbers are masked
// already.
type Recipient struct {
	DisplayName string `json:"display_name"`
	UPN         string `json:"upn"`
	// CarrierName names the carrier's brands ("au / UQ mobile / povo"). The
	// mails say "if your phone is on …": a number's block only hints at
	// its carrier.
	CarrierName string `json:"carrier_name,omitempty"`
	// AllPhones says the carrier covers every phone of the tenant
	// (match.all_phones: a telephony provider sending the sign-in texts
	// and calls, or the organisation's own PBX): the mails then say codes
	// and calls may not arrive whatever the user's mobile carrier, not
	// "if your phone is on …".
	AllPhones bool `json:"all_phones,omitempty"`
	// AffectedPhones are the user's registered numbers the incident
	// covers, already masked ("+81 90-****-5678").
	AffectedPhones []string `json:"affected_phones,omitempty"`
	// OtherPhones are the user's registered numbers the incident does not
	// cover, already masked (the other-phone segment).
	OtherPhones []string `json:"other_phones,omitempty"`
	// OtherCallOnly are those of OtherPhones that take voice calls only
	// (Entra's alternateMobile and office phones), masked alike.
	OtherCallOnly []string `json:"other_call_only,omitempty"`
}

// Data is what one mail is rendered from: its recipient's values (whose
// fields the templates use as {{.DisplayName}} and so on) and those of the
// incident and the organisation.
type Data struct {
	Recipient

	Kind carrierwatch.Kind
	// Segment says which guidance the user gets; "" is allowed for
	// preparedness mails and means phone-only.
	Segment carrierwatch.Segment
	Lang    string // "ja" or "en"

	IncidentID int64
	// IncidentTitle and IncidentURL come from a carrier's feed or page:
	// untrusted. They are cut to one line and escaped in HTML.
	IncidentTitle string
	IncidentURL   string
	OpenedAt      time.Time // when carrierwatch detected it; zero when unknown
	// StartedAt is the start the carrier states (「7月2日1時35分頃より」);
	// zero when its notice gives none, and the mails say "detected at"
	// OpenedAt instead.
	StartedAt  time.Time
	ResolvedAt time.Time // zero while open
	// Areas are the areas a regional incident's notice names (宮崎県,
	// 東日本, 一部エリア), from a carrier's page: untrusted; nil for a
	// national incident.
	Areas []string

	Links Links
	// RetirementDate is the day Microsoft-provided SMS and voice stop
	// working for MFA in Entra, as YYYY-MM-DD; DefaultRetirementDate when
	// empty.
	RetirementDate string
}

// MessageData returns the Data of an outbox message: its kind, segment,
// language and Recipient (its Data). The caller adds the incident and the
// links (see SetIncident).
func MessageData(m *carrierwatch.Message) (Data, error) {
	d := Data{Kind: m.Kind, Segment: m.Segment, Lang: m.Lang}
	if err := json.Unmarshal(m.Data, &d.Recipient); err != nil {
		return Data{}, fmt.Errorf("message %d: recipient data: %w", m.ID, err)
	}
	return d, nil
}

// SetIncident fills in the incident's values; a carrier name frozen into
// the recipient's data wins over carrierName.
func (d *Data) SetIncident(inc *carrierwatch.Incident, carrierName string) {
	d.IncidentID, d.IncidentTitle, d.IncidentURL = inc.ID, inc.Title, inc.URL
	d.OpenedAt, d.ResolvedAt, d.StartedAt = inc.OpenedAt, inc.ResolvedAt, inc.StartedAt
	d.Areas = nil
	if inc.Scope == carrierwatch.ScopeRegional {
		d.Areas = inc.Areas
	}
	if d.CarrierName == "" {
		d.CarrierName = carrierName
	}
}

// DefaultRetirementDate is the day Microsoft retires Microsoft-provided SMS
// and voice calls for MFA in Entra.
const DefaultRetirementDate = "2027-02-01"

// Languages lists the languages the embedded templates are written in.
var Languages = []string{"ja", "en"}

// MaxSubjectRunes caps the length of a rendered subject.
const MaxSubjectRunes = 150

// maxFieldRunes caps untrusted one-line values (an incident's title).
const maxFieldRunes = 300

// names of the template files of one language, without the language
// prefix; each language has every one of them.
var (
	textFiles = []string{"partials.txt", "subject.txt", "outage.txt", "resolved.txt", "preparedness.txt"}
	htmlFiles = []string{"partials.html", "outage.html", "resolved.html", "preparedness.html"}
)

//go:embed mail/*
var embedded embed.FS

// jst is Japan Standard Time; Japan keeps no daylight saving time, so a
// fixed zone needs no time zone database.
var jst = time.FixedZone("JST", 9*60*60)

// Renderer renders mails from the embedded templates and the overrides it
// was created with. It is safe for concurrent use.
type Renderer struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// New loads the embedded templates. When dir is not empty, each file there
// whose name is one of the embedded templates' ("ja.outage.txt",
// "en.partials.html", … see the mail folder of this package) replaces the
// embedded one. Other files are ignored, except names that start with a
// language prefix ("ja.", "en.") and match no template: those are errors, as
// they are likely misspelt. Errors name the file.
//
// New also renders every kind, segment and language once with sample data,
// so that a template that fails only when executed is reported here rather
// than when the first mail is sent.
func New(dir string) (*Renderer, error) {
	src, err := sources(dir)
	if err != nil {
		return nil, err
	}
	r := &Renderer{
		text: make(map[string]*texttemplate.Template),
		html: make(map[string]*htmltemplate.Template),
	}
	for _, lang := range Languages {
		tt := texttemplate.New(lang).Funcs(texttemplate.FuncMap(funcs(lang))).Option("missingkey=error")
		for _, f := range textFiles {
			name := lang + "." + f
			if _, err := tt.New(name).Parse(src[name].text); err != nil {
				return nil, fmt.Errorf("load mail templates: %s: %w", src[name].origin, err)
			}
		}
		ht := htmltemplate.New(lang).Funcs(htmltemplate.FuncMap(funcs(lang))).Option("missingkey=error")
		for _, f := range htmlFiles {
			name := lang + "." + f
			if _, err := ht.New(name).Parse(src[name].text); err != nil {
				return nil, fmt.Errorf("load mail templates: %s: %w", src[name].origin, err)
			}
		}
		r.text[lang], r.html[lang] = tt, ht
	}
	if err := r.selfTest(src); err != nil {
		return nil, err
	}
	return r, nil
}

type source struct {
	text   string
	origin string // file path for errors
}

func sources(dir string) (map[string]source, error) {
	src := make(map[string]source)
	for _, lang := range Languages {
		for _, f := range append(append([]string(nil), textFiles...), htmlFiles...) {
			name := lang + "." + f
			b, err := embedded.ReadFile("mail/" + name)
			if err != nil {
				return nil, fmt.Errorf("load mail templates: embedded %s: %w", name, err)
			}
			src[name] = source{text: string(b), origin: "embedded " + name}
		}
	}
	if dir == "" {
		return src, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load mail templates: read override directory: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		path := filepath.Join(dir, name)
		if _, known := src[name]; !known {
			if hasLangPrefix(name) {
				return nil, fmt.Errorf("load mail templates: %s: not a template name; known names are %s", path, strings.Join(sortedKeys(src), ", "))
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("load mail templates: %w", err)
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("load mail templates: %s: not UTF-8", path)
		}
		src[name] = source{text: string(b), origin: path}
	}
	return src, nil
}

func hasLangPrefix(name string) bool {
	for _, lang := range Languages {
		if strings.HasPrefix(name, lang+".") {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]source) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// selfTest renders every combination once so that execution errors (a
// misspelt field, a missing {{define}}) surface in New, naming the file.
func (r *Renderer) selfTest(src map[string]source) error {
	opened := time.Date(2022, 7, 1, 16, 35, 0, 0, time.UTC)
	for _, lang := range Languages {
		for _, c := range Combinations() {
			d := Data{
				Recipient: Recipient{
					DisplayName: "Sample", UPN: "sample@example.org", CarrierName: "Sample Mobile",
					AffectedPhones: []string{"+81 90-****-0000"}, OtherPhones: []string{"+81 80-****-0000"},
				},
				Kind: c.Kind, Segment: c.Segment, Lang: lang,
				IncidentID: 1, IncidentTitle: "Sample", IncidentURL: "https://example.org/",
				OpenedAt: opened, ResolvedAt: opened.Add(time.Hour),
				Links: Links{SupportForm: "https://example.org/a", MFASetup: "https://example.org/b", Notice: "https://example.org/c"},
			}
			if _, _, _, err := r.Render(d); err != nil {
				// Execution errors start with "template: <file name>:line:col:";
				// point at the override when there is one.
				msg := err.Error()
				for name, s := range src {
					if strings.Contains(msg, name+":") && !strings.HasPrefix(s.origin, "embedded ") {
						return fmt.Errorf("load mail templates: %s: %w", s.origin, err)
					}
				}
				return fmt.Errorf("load mail templates: %w", err)
			}
		}
	}
	return nil
}

// Combination is one kind and segment that Render accepts.
type Combination struct {
	Kind    carrierwatch.Kind
	Segment carrierwatch.Segment
}

// Combinations lists every kind and segment pair Render accepts, in a fixed
// order: outage and resolved for each segment, preparedness for phone-only
// and other-phone users (both have no way in but a phone).
func Combinations() []Combination {
	var out []Combination
	for _, k := range []carrierwatch.Kind{carrierwatch.KindOutage, carrierwatch.KindResolved} {
		for _, s := range []carrierwatch.Segment{carrierwatch.SegmentApp, carrierwatch.SegmentOtherPhone, carrierwatch.SegmentPhoneOnly} {
			out = append(out, Combination{k, s})
		}
	}
	out = append(out,
		Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentOtherPhone},
		Combination{carrierwatch.KindPreparedness, carrierwatch.SegmentPhoneOnly})
	return out
}

// ErrUnknownLanguage is returned by Render for a language without
// templates.
var ErrUnknownLanguage = errors.New("unknown language")

// Render returns the subject (one line: control characters removed, at most
// MaxSubjectRunes runes), the plain-text body and the HTML body of d. It
// errors on an unknown language, kind or segment; the caller chooses the
// language (see Language). Every mail is rendered in full.
func (r *Renderer) Render(d Data) (subject, text, html string, err error) {
	tt, ok := r.text[d.Lang]
	if !ok {
		return "", "", "", fmt.Errorf("render mail: %w %q", ErrUnknownLanguage, d.Lang)
	}
	ht := r.html[d.Lang]
	if !d.Kind.Valid() {
		return "", "", "", fmt.Errorf("render mail: unknown kind %q", d.Kind)
	}
	if d.Kind == carrierwatch.KindPreparedness {
		switch d.Segment {
		case "":
			d.Segment = carrierwatch.SegmentPhoneOnly
		case carrierwatch.SegmentApp:
			return "", "", "", fmt.Errorf("render mail: preparedness mails are for users without a non-phone method, not segment %q", d.Segment)
		}
	}
	if !d.Segment.Valid() {
		return "", "", "", fmt.Errorf("render mail: unknown segment %q", d.Segment)
	}
	d = clean(d)

	var buf bytes.Buffer
	if err := tt.ExecuteTemplate(&buf, d.Lang+".subject.txt", d); err != nil {
		return "", "", "", fmt.Errorf("render mail subject: %w", err)
	}
	subject = Subject(buf.String())

	buf.Reset()
	if err := tt.ExecuteTemplate(&buf, d.Lang+"."+string(d.Kind)+".txt", d); err != nil {
		return "", "", "", fmt.Errorf("render mail text: %w", err)
	}
	text = tidyText(buf.String())

	buf.Reset()
	if err := ht.ExecuteTemplate(&buf, d.Lang+"."+string(d.Kind)+".html", d); err != nil {
		return "", "", "", fmt.Errorf("render mail html: %w", err)
	}
	html = tidyHTML(buf.String())
	return subject, text, html, nil
}

// Language picks the mail language from a directory's preferredLanguage
// ("ja-JP" → "ja", "en_US" → "en"): its primary subtag when templates exist
// for it, else def.
func Language(preferred, def string) string {
	p := strings.ToLower(strings.TrimSpace(preferred))
	if i := strings.IndexAny(p, "-_"); i >= 0 {
		p = p[:i]
	}
	for _, l := range Languages {
		if p == l {
			return l
		}
	}
	return def
}

// clean makes the free-text values one line and caps the untrusted ones.
// Every string and string list of the Recipient is cleaned, so a new
// per-user field needs nothing here.
func clean(d Data) Data {
	d.Recipient = cleanRecipient(d.Recipient)
	d.IncidentTitle = carrierwatch.OneLine(d.IncidentTitle, maxFieldRunes)
	d.IncidentURL = carrierwatch.OneLine(d.IncidentURL, 2000)
	d.Links = Links{
		SupportForm:              carrierwatch.OneLine(d.Links.SupportForm, 2000),
		SupportFormWithoutSignIn: d.Links.SupportFormWithoutSignIn,
		MFASetup:                 carrierwatch.OneLine(d.Links.MFASetup, 2000),
		Notice:                   carrierwatch.OneLine(d.Links.Notice, 2000),
	}
	if d.RetirementDate == "" {
		d.RetirementDate = DefaultRetirementDate
	}
	d.RetirementDate = carrierwatch.OneLine(d.RetirementDate, 40)
	return d
}

// cleanRecipient cleans a copy of r: strings are cut to maxFieldRunes,
// list items (phone numbers) to 100 runes and dropped when empty.
func cleanRecipient(r Recipient) Recipient {
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.String:
			f.SetString(carrierwatch.OneLine(f.String(), maxFieldRunes))
		case f.Type() == reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf(cleanList(f.Interface().([]string))))
		}
	}
	return r
}

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = carrierwatch.OneLine(s, 100); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Subject returns s as a header-safe subject: control characters (CR, LF,
// tabs, …) become spaces, runs of spaces one space, and it is cut to
// MaxSubjectRunes runes with an ellipsis.
func Subject(s string) string {
	return carrierwatch.OneLine(s, MaxSubjectRunes)
}

var blankRuns = regexp.MustCompile(`\n{3,}`)

// tidyText trims trailing spaces, keeps at most one blank line in a row and
// ends the text with one newline, so templates can be laid out freely.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankRuns.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}

var htmlBlankLines = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)*`)

// tidyHTML drops the blank lines template actions leave behind.
func tidyHTML(s string) string {
	s = htmlBlankLines.ReplaceAllString(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	return strings.TrimSpace(s) + "\n"
}

// funcs are the template functions; date formats follow the language.
func funcs(lang string) map[string]any {
	return map[string]any{
		"join": strings.Join,
		// date formats an instant in Japan time.
		"date": func(t time.Time) string {
			t = t.In(jst)
			if lang == "ja" {
				return t.Format("2006年1月2日 15:04") + " (日本時間)"
			}
			return t.Format("Mon 2 Jan 2006 15:04 MST")
		},
		// day formats a YYYY-MM-DD date; other text is shown as is.
		"day": func(s string) string {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return s
			}
			if lang == "ja" {
				return t.Format("2006年1月2日")
			}
			return t.Format("2 January 2006")
		},
	}
}
