package templates

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carrierwatch/carrierwatch"
)

// Links are the organisation's pages the mails point to. An empty link is
// left out of the mail.
type Links struct {
	SupportForm string // where a locked-out user asks for an MFA reset
	MFASetup    string // how to register an authenticator app or passkey
	Notice      string // the organisation's own notice about the outage
}

// Data is what one mail is rendered from.
type Data struct {
	Kind carrierwatch.Kind
	// Segment says which guidance the user gets; "" is allowed for
	// preparedness mails and means phone-only.
	Segment carrierwatch.Segment
	Lang    string // "ja" or "en"

	DisplayName string
	UPN         string
	// CarrierName names the carrier's brands ("au / UQ mobile / povo"). The
	// mails say "if your phone is on …": a number's block only hints at
	// its carrier.
	CarrierName string
	// AffectedPhones are the user's registered numbers the incident
	// covers, already masked ("+81 90-****-5678").
	AffectedPhones []string
	// OtherPhones are the user's registered numbers the incident does not
	// cover, already masked (the other-phone segment).
	OtherPhones []string

	IncidentID int64
	// IncidentTitle and IncidentURL come from a carrier's feed or page:
	// untrusted. They are cut to one line and escaped in HTML.
	IncidentTitle string
	IncidentURL   string
	OpenedAt      time.Time // zero when unknown
	ResolvedAt    time.Time // zero while open

	Links Links
	// RetirementDate is the day Microsoft-provided SMS and voice stop
	// working for MFA in Entra, as YYYY-MM-DD; DefaultRetirementDate when
	// empty.
	RetirementDate string
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

	// cache holds the bodies of recently rendered mail shapes (see
	// shapeCache); nil renders every mail in full.
	cache *shapeCache
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
	return newRenderer(dir, true)
}

// newRenderer is New; with cached false the Renderer renders every mail in
// full, which tests compare the cached bodies with.
func newRenderer(dir string, cached bool) (*Renderer, error) {
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
	if cached {
		// After selfTest: every HTML body has been executed, so
		// html/template has added its escapers to the trees analysed here.
		r.cache = newShapeCache(r)
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
				Kind: c.Kind, Segment: c.Segment, Lang: lang,
				DisplayName: "Sample", UPN: "sample@example.org", CarrierName: "Sample Mobile",
				AffectedPhones: []string{"+81 90-****-0000"}, OtherPhones: []string{"+81 80-****-0000"},
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
// language (see Language).
//
// Mails that differ only in DisplayName, UPN and the phone numbers (not in
// how many there are) reuse the bodies rendered for the first of them, with
// the same result as a full render; see the shape cache below.
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

	var cached bool
	if r.cache != nil {
		var subjectOK bool
		if subject, subjectOK, text, html, cached = r.cache.render(d); cached && subjectOK {
			return subject, text, html, nil
		}
	}
	var buf bytes.Buffer
	if err := tt.ExecuteTemplate(&buf, d.Lang+".subject.txt", d); err != nil {
		return "", "", "", fmt.Errorf("render mail subject: %w", err)
	}
	subject = Subject(buf.String())
	if cached {
		return subject, text, html, nil
	}
	text, html, err = renderBodies(tt, ht, d)
	if err != nil {
		return "", "", "", err
	}
	return subject, text, html, nil
}

// renderBodies executes the text and HTML templates of d, which clean has
// seen, and tidies their output.
func renderBodies(tt *texttemplate.Template, ht *htmltemplate.Template, d Data) (text, html string, err error) {
	var buf bytes.Buffer
	buf.Grow(8 << 10)
	if err := tt.ExecuteTemplate(&buf, d.Lang+"."+string(d.Kind)+".txt", d); err != nil {
		return "", "", fmt.Errorf("render mail text: %w", err)
	}
	text = tidyText(buf.String())

	buf.Reset()
	if err := ht.ExecuteTemplate(&buf, d.Lang+"."+string(d.Kind)+".html", d); err != nil {
		return "", "", fmt.Errorf("render mail html: %w", err)
	}
	html = tidyHTML(buf.String())
	return text, html, nil
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
func clean(d Data) Data {
	d.DisplayName = oneLine(d.DisplayName, maxFieldRunes)
	d.UPN = oneLine(d.UPN, maxFieldRunes)
	d.CarrierName = oneLine(d.CarrierName, maxFieldRunes)
	d.IncidentTitle = oneLine(d.IncidentTitle, maxFieldRunes)
	d.IncidentURL = oneLine(d.IncidentURL, 2000)
	d.AffectedPhones = cleanList(d.AffectedPhones)
	d.OtherPhones = cleanList(d.OtherPhones)
	d.Links = Links{
		SupportForm: oneLine(d.Links.SupportForm, 2000),
		MFASetup:    oneLine(d.Links.MFASetup, 2000),
		Notice:      oneLine(d.Links.Notice, 2000),
	}
	if d.RetirementDate == "" {
		d.RetirementDate = DefaultRetirementDate
	}
	d.RetirementDate = oneLine(d.RetirementDate, 40)
	return d
}

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = oneLine(s, 100); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Subject returns s as a header-safe subject: control characters (CR, LF,
// tabs, …) become spaces, runs of spaces one space, and it is cut to
// MaxSubjectRunes runes with an ellipsis.
func Subject(s string) string {
	return oneLine(s, MaxSubjectRunes)
}

var spaces = regexp.MustCompile(`[\p{Zs}\s]+`)

// oneLine replaces control and line-separator characters with spaces,
// collapses space runs, trims, and cuts to max runes with "…".
func oneLine(s string, max int) string {
	if isClean(s, max) {
		return s
	}
	return oneLineSlow(s, max)
}

// isClean reports whether oneLine(s, max) is s: s is valid UTF-8 of at most
// max runes, without control or line-separator characters, without
// leading or trailing white space, and its only spaces are single U+0020 or
// U+3000 between other characters.
func isClean(s string, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n, prevSpace := 0, true // a leading space is not clean
	for _, r := range s {
		n++
		var space bool
		if r < utf8.RuneSelf {
			if r < 0x20 || r == 0x7f { // control characters
				return false
			}
			space = r == ' '
		} else {
			// Controls here are U+0080–U+009F (U+0085 among them). Every
			// other white space rune is in Zs, which is what the spaces
			// expression matches besides controls.
			if r <= 0x9f || r == '\u2028' || r == '\u2029' {
				return false
			}
			space = unicode.Is(unicode.Zs, r)
		}
		if space {
			if (r != ' ' && r != '\u3000') || prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	if n > 0 && prevSpace {
		return false
	}
	return n <= max
}

// oneLineSlow is oneLine for values that are not clean yet.
func oneLineSlow(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(spaces.ReplaceAllStringFunc(s, func(m string) string {
		if m == "\u3000" { // keep a lone ideographic space: it is Japanese typography
			return m
		}
		return " "
	}))
	if utf8.RuneCountInString(s) > max {
		rs := []rune(s)
		s = strings.TrimSpace(string(rs[:max-1])) + "…"
	}
	return s
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

// The shape cache.
//
// Within one campaign most mails differ only in the personal fields
// (DisplayName, UPN, AffectedPhones[i], OtherPhones[i]). A shape is
// everything else, plus whether each name is empty and how many phones
// there are. For each shape the bodies are rendered once with marker values
// in place of the personal fields and split into literal parts and slots;
// later mails of the shape fill the slots with their values, escaped for
// HTML the way html/template does in HTML text and quoted attributes.
//
// The result equals a full render, by construction:
//   - analyse proves, from the parse trees html/template executes (its
//     escapers included), that a personal value can only be printed: as
//     {{.}}, or joined with {{join . "sep"}}, raw in text and through
//     html/template's HTML text, quoted attribute, RCDATA or comment
//     escapers in HTML, or tested by if/with/range, whose outcome the shape
//     fixes. No function sees a personal value, so nothing else in the
//     output depends on it.
//   - a second render with probe values (another marker followed by every
//     character the escapers rewrite) must come out exactly as the parts
//     with the escaped probes in the slots; this also rules out a marker
//     that appears in a non-personal field.
//   - the cache is used only for values clean leaves unchanged: one line, no
//     control characters, no white space at either end. tidyText and
//     tidyHTML then touch no character of a value, as they do none of a
//     marker's letters and digits.

// maxShapes bounds the shape cache; it is emptied when full.
const maxShapes = 512

// maxSlots bounds the personal values of one mail the cache handles; a
// slot number is written with four digits in a marker.
const maxSlots = 9999

// probeTail follows the marker in a probe value: every character the HTML
// escapers rewrite, and some they must leave alone. It ends with a letter
// so that tidyText's trimming cannot reach into it.
const probeTail = " <&\"'+> é\t\x00=`/\\:;%#?(){}@日本 😀Z"

// slot numbers: 0 is DisplayName, 1 is UPN, then AffectedPhones, then
// OtherPhones.
const (
	slotDisplayName = 0
	slotUPN         = 1
	slotPhones      = 2
)

type shapeKey struct {
	kind             carrierwatch.Kind
	segment          carrierwatch.Segment
	lang             string
	carrier          string
	incidentID       int64
	title, url       string
	opened, resolved time.Time
	links            Links
	retirement       string
	affected, other  int
	hasName, hasUPN  bool
}

// part is a literal (slot < 0) or the personal value of a slot.
type part struct {
	lit  string
	slot int
}

type shape struct {
	ok bool // false: render every mail of the shape in full
	// subject is the shape's subject when the subject template never
	// prints a personal value (it may test them; the key covers that).
	subject    string
	subjectOK  bool
	text, html []part
	textLit    int // bytes of literals, to size the result
	htmlLit    int
}

type shapeCache struct {
	r *Renderer
	// cacheable tells, by language and kind ("ja.outage"), whether both
	// bodies passed analyse.
	cacheable map[string]bool
	// subjectOK tells, by language, whether the subject template passed
	// analyse.
	subjectOK map[string]bool
	// markers and probes start with random prefixes, so that no feed can
	// guess them.
	marker, probe string

	mu     sync.RWMutex
	shapes map[shapeKey]*shape
}

func newShapeCache(r *Renderer) *shapeCache {
	c := &shapeCache{
		r:         r,
		cacheable: make(map[string]bool),
		subjectOK: make(map[string]bool),
		marker:    "cw" + rand.Text()[:12],
		probe:     "cw" + rand.Text()[:12],
		shapes:    make(map[shapeKey]*shape),
	}
	for _, lang := range Languages {
		c.subjectOK[lang] = analyse(func(n string) *parse.Tree {
			if t := r.text[lang].Lookup(n); t != nil {
				return t.Tree
			}
			return nil
		}, false, lang+".subject.txt")
		for _, kind := range []carrierwatch.Kind{carrierwatch.KindOutage, carrierwatch.KindResolved, carrierwatch.KindPreparedness} {
			name := lang + "." + string(kind)
			textOK := analyse(func(n string) *parse.Tree {
				if t := r.text[lang].Lookup(n); t != nil {
					return t.Tree
				}
				return nil
			}, false, name+".txt")
			htmlOK := analyse(func(n string) *parse.Tree {
				if t := r.html[lang].Lookup(n); t != nil {
					return t.Tree
				}
				return nil
			}, true, name+".html")
			c.cacheable[name] = textOK && htmlOK
		}
	}
	return c
}

// render returns the bodies of d, which clean has seen, from the cache; ok
// is false when d must be rendered in full.
func (c *shapeCache) render(d Data) (subject string, subjectOK bool, text, html string, ok bool) {
	if !c.cacheable[d.Lang+"."+string(d.Kind)] {
		return "", false, "", "", false
	}
	nslots := slotPhones + len(d.AffectedPhones) + len(d.OtherPhones)
	if nslots > maxSlots {
		return "", false, "", "", false
	}
	var buf [8]string
	vals := buf[:0]
	vals = append(vals, d.DisplayName, d.UPN)
	vals = append(vals, d.AffectedPhones...)
	vals = append(vals, d.OtherPhones...)
	for i, v := range vals {
		max := maxFieldRunes
		if i >= slotPhones {
			max = 100
		}
		if !isClean(v, max) {
			return "", false, "", "", false
		}
	}
	key := shapeKey{
		kind: d.Kind, segment: d.Segment, lang: d.Lang,
		carrier: d.CarrierName, incidentID: d.IncidentID,
		title: d.IncidentTitle, url: d.IncidentURL,
		opened: d.OpenedAt, resolved: d.ResolvedAt,
		links: d.Links, retirement: d.RetirementDate,
		affected: len(d.AffectedPhones), other: len(d.OtherPhones),
		hasName: d.DisplayName != "", hasUPN: d.UPN != "",
	}
	c.mu.RLock()
	s := c.shapes[key]
	c.mu.RUnlock()
	if s == nil {
		s = c.build(d, nslots)
		c.mu.Lock()
		if len(c.shapes) >= maxShapes {
			c.shapes = make(map[shapeKey]*shape)
		}
		c.shapes[key] = s
		c.mu.Unlock()
	}
	if !s.ok {
		return "", false, "", "", false
	}
	text = fill(s.text, s.textLit, vals)
	for i, v := range vals {
		vals[i] = htmlEscape(v)
	}
	html = fill(s.html, s.htmlLit, vals)
	return s.subject, s.subjectOK, text, html, true
}

// build renders the shape of d with markers and with probes.
func (c *shapeCache) build(d Data, nslots int) *shape {
	tt, ht := c.r.text[d.Lang], c.r.html[d.Lang]
	withValues := func(prefix, tail string) Data {
		v := d
		if v.DisplayName != "" {
			v.DisplayName = slotMarker(prefix, slotDisplayName) + tail
		}
		if v.UPN != "" {
			v.UPN = slotMarker(prefix, slotUPN) + tail
		}
		v.AffectedPhones = make([]string, len(d.AffectedPhones))
		for i := range v.AffectedPhones {
			v.AffectedPhones[i] = slotMarker(prefix, slotPhones+i) + tail
		}
		v.OtherPhones = make([]string, len(d.OtherPhones))
		for i := range v.OtherPhones {
			v.OtherPhones[i] = slotMarker(prefix, slotPhones+len(d.AffectedPhones)+i) + tail
		}
		return v
	}
	text, html, err := renderBodies(tt, ht, withValues(c.marker, ""))
	if err != nil {
		return &shape{}
	}
	s := &shape{}
	var ok1, ok2 bool
	s.text, s.textLit, ok1 = split(text, c.marker, nslots)
	s.html, s.htmlLit, ok2 = split(html, c.marker, nslots)
	if !ok1 || !ok2 {
		return &shape{}
	}
	probeText, probeHTML, err := renderBodies(tt, ht, withValues(c.probe, probeTail))
	if err != nil {
		return &shape{}
	}
	probes := make([]string, nslots)
	for i := range probes {
		probes[i] = slotMarker(c.probe, i) + probeTail
	}
	if fill(s.text, s.textLit, probes) != probeText {
		return &shape{}
	}
	for i, p := range probes {
		probes[i] = htmlEscape(p)
	}
	if fill(s.html, s.htmlLit, probes) != probeHTML {
		return &shape{}
	}
	s.ok = true
	// The subject can be kept when its template passed analyse and prints
	// neither markers nor probes: then it depends only on the key.
	if c.subjectOK[d.Lang] {
		var a, b bytes.Buffer
		ea := tt.ExecuteTemplate(&a, d.Lang+".subject.txt", withValues(c.marker, ""))
		eb := tt.ExecuteTemplate(&b, d.Lang+".subject.txt", withValues(c.probe, probeTail))
		if ea == nil && eb == nil && a.String() == b.String() &&
			!strings.Contains(a.String(), c.marker) && !strings.Contains(b.String(), c.probe) {
			s.subject, s.subjectOK = Subject(a.String()), true
		}
	}
	return s
}

// slotMarker is the marker of slot i: prefix and four digits.
func slotMarker(prefix string, i int) string {
	return fmt.Sprintf("%s%04d", prefix, i)
}

// split cuts a body rendered with markers into literals and slots. It fails
// on a marker with an unknown slot.
func split(s, prefix string, nslots int) (parts []part, lit int, ok bool) {
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			break
		}
		if i > 0 {
			parts = append(parts, part{lit: s[:i], slot: -1})
			lit += i
		}
		s = s[i+len(prefix):]
		if len(s) < 4 {
			return nil, 0, false
		}
		n := 0
		for _, b := range []byte(s[:4]) {
			if b < '0' || b > '9' {
				return nil, 0, false
			}
			n = n*10 + int(b-'0')
		}
		if n >= nslots {
			return nil, 0, false
		}
		parts = append(parts, part{slot: n})
		s = s[4:]
	}
	if s != "" {
		parts = append(parts, part{lit: s, slot: -1})
		lit += len(s)
	}
	return parts, lit, true
}

// fill joins parts with vals in the slots.
func fill(parts []part, lit int, vals []string) string {
	n := lit
	for _, p := range parts {
		if p.slot >= 0 {
			n += len(vals[p.slot])
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		if p.slot >= 0 {
			b.WriteString(vals[p.slot])
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}

// htmlEscaper escapes as html/template does a string in HTML text, a quoted
// attribute or RCDATA.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

func htmlEscape(s string) string {
	if !strings.ContainsAny(s, "\x00\"&'+<>") {
		return s
	}
	return htmlEscaper.Replace(s)
}

// value kinds for analyse.
type vkind int

const (
	vOther  vkind = iota // holds nothing personal
	vData                // the Data itself
	vStr                 // one personal string
	vList                // a list of personal strings
	vJoined              // personal strings joined with a constant
)

// htmlEscapers are html/template's escapers that turn a string into
// htmlEscape's result, or into nothing (comments).
var htmlEscapers = map[string]bool{
	"_html_template_htmlescaper":    true,
	"_html_template_attrescaper":    true,
	"_html_template_rcdataescaper":  true,
	"_html_template_commentescaper": true,
}

// analyse reports whether template root, executed on a Data, can use
// personal values only by printing them or testing them in if, with and
// range (see the shape cache). lookup finds a template's tree by name; html
// allows html/template's escapers in a pipeline.
func analyse(lookup func(string) *parse.Tree, html bool, root string) bool {
	a := &analyser{lookup: lookup, html: html, done: make(map[analysed]bool)}
	return a.template(root, vData)
}

type analysed struct {
	name string
	dot  vkind
}

type analyser struct {
	lookup func(string) *parse.Tree
	html   bool
	// done holds the templates analysed or being analysed; a recursive
	// call needs no second look.
	done map[analysed]bool
}

// scope is what a node sees: dot and $ (variables other than $ never hold
// personal values: analyse refuses such declarations).
type scope struct {
	dot, root vkind
}

func (a *analyser) template(name string, dot vkind) bool {
	k := analysed{name, dot}
	if a.done[k] {
		return true
	}
	a.done[k] = true
	t := a.lookup(name)
	if t == nil || t.Root == nil {
		return false
	}
	return a.node(t.Root, scope{dot: dot, root: dot})
}

func (a *analyser) node(n parse.Node, sc scope) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !a.node(c, sc) {
				return false
			}
		}
		return true
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return true
	case *parse.ActionNode:
		k, ok := a.pipe(n.Pipe, sc)
		if !ok {
			return false
		}
		if len(n.Pipe.Decl) > 0 {
			return true // pipe refused personal declarations
		}
		return k == vOther || k == vStr || k == vJoined
	case *parse.IfNode:
		k, ok := a.pipe(n.Pipe, sc)
		return ok && k != vJoined && a.node(n.List, sc) && a.node(n.ElseList, sc)
	case *parse.WithNode:
		k, ok := a.pipe(n.Pipe, sc)
		if !ok || k == vJoined {
			return false
		}
		inner := sc
		inner.dot = k
		return a.node(n.List, inner) && a.node(n.ElseList, sc)
	case *parse.RangeNode:
		k, ok := a.pipe(n.Pipe, sc)
		if !ok {
			return false
		}
		inner := sc
		switch k {
		case vOther:
			inner.dot = vOther
		case vList:
			if len(n.Pipe.Decl) > 0 {
				return false
			}
			inner.dot = vStr
		default:
			return false
		}
		return a.node(n.List, inner) && a.node(n.ElseList, sc)
	case *parse.TemplateNode:
		k, ok := vOther, true
		if n.Pipe != nil {
			k, ok = a.pipe(n.Pipe, sc)
		}
		return ok && k != vJoined && a.template(n.Name, k)
	default:
		return false
	}
}

// pipe returns the kind of a pipeline's value, or false when it uses a
// personal value otherwise than analyse allows.
func (a *analyser) pipe(p *parse.PipeNode, sc scope) (vkind, bool) {
	if p == nil {
		return vOther, true
	}
	var k vkind
	for i, cmd := range p.Cmds {
		var ok bool
		k, ok = a.command(cmd, sc, k, i > 0)
		if !ok {
			return 0, false
		}
	}
	if len(p.Decl) > 0 && k != vOther {
		return 0, false
	}
	return k, true
}

func (a *analyser) command(cmd *parse.CommandNode, sc scope, prev vkind, piped bool) (vkind, bool) {
	if len(cmd.Args) == 0 {
		return 0, false
	}
	if id, isFunc := cmd.Args[0].(*parse.IdentifierNode); isFunc {
		args := make([]vkind, 0, len(cmd.Args))
		for _, arg := range cmd.Args[1:] {
			k, ok := a.operand(arg, sc)
			if !ok {
				return 0, false
			}
			args = append(args, k)
		}
		if piped {
			args = append(args, prev)
		}
		switch {
		case a.html && htmlEscapers[id.Ident] && piped && len(cmd.Args) == 1:
			if prev == vData || prev == vList {
				return 0, false
			}
			return prev, true
		case id.Ident == "join" && !piped && len(cmd.Args) == 3 && args[0] == vList:
			if _, isString := cmd.Args[2].(*parse.StringNode); !isString {
				return 0, false
			}
			return vJoined, true
		}
		for _, k := range args {
			if k != vOther {
				return 0, false
			}
		}
		return vOther, true
	}
	// An operand; with arguments or a piped value it is a method call.
	k, ok := a.operand(cmd.Args[0], sc)
	if !ok {
		return 0, false
	}
	if len(cmd.Args) > 1 || piped {
		if k != vOther || (piped && prev != vOther) {
			return 0, false
		}
		for _, arg := range cmd.Args[1:] {
			if ak, ok := a.operand(arg, sc); !ok || ak != vOther {
				return 0, false
			}
		}
	}
	return k, true
}

func (a *analyser) operand(n parse.Node, sc scope) (vkind, bool) {
	switch n := n.(type) {
	case *parse.DotNode:
		return sc.dot, true
	case *parse.FieldNode:
		return field(sc.dot, n.Ident)
	case *parse.VariableNode:
		base := vOther
		if n.Ident[0] == "$" {
			base = sc.root
		}
		return field(base, n.Ident[1:])
	case *parse.ChainNode:
		k, ok := a.operand(n.Node, sc)
		if !ok {
			return 0, false
		}
		return field(k, n.Field)
	case *parse.PipeNode:
		return a.pipe(n, sc)
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return vOther, true
	case *parse.IdentifierNode:
		return vOther, true // a function called without arguments
	default:
		return 0, false
	}
}

// field returns the kind of base.f1.f2…
func field(base vkind, fields []string) (vkind, bool) {
	k := base
	for _, f := range fields {
		switch k {
		case vOther:
		case vData:
			switch f {
			case "DisplayName", "UPN":
				k = vStr
			case "AffectedPhones", "OtherPhones":
				k = vList
			default:
				k = vOther
			}
		default:
			return 0, false
		}
	}
	return k, true
}
