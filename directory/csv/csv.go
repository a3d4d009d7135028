package csv

import (
	"bufio"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

// Column names of the header row.
const (
	colID                = "id"
	colUPN               = "upn"
	colDisplayName       = "display_name"
	colMail              = "mail"
	colAlternateEmails   = "alternate_emails"
	colPreferredLanguage = "preferred_language"
	colPhones            = "phones"
	colMethods           = "methods"
)

// columns lists every column in DESIGN.md order; required ones must be in
// the header (an empty cell is fine), optional ones may be left out.
var columns = []struct {
	name     string
	required bool
}{
	{colID, true},
	{colUPN, true},
	{colDisplayName, false},
	{colMail, true},
	{colAlternateEmails, true},
	{colPreferredLanguage, false},
	{colPhones, true},
	{colMethods, true},
}

// maxProblems bounds Update.Problems: a file broken on every row is
// described by its first problems and a count.
const maxProblems = 1000

// progressEvery is how many rows pass between progress reports.
const progressEvery = 5000

// Provider reads the users CSV file. The zero value is not usable: call New.
// A Provider is safe for use by one goroutine at a time.
type Provider struct {
	path   string
	logger *slog.Logger

	// region is the region of phone numbers written without a country
	// code ("090-1234-5678").
	region string
}

var _ directory.Provider = (*Provider)(nil)

// New returns a provider that reads the file at path on every Fetch (the
// file may change between syncs). region is the region of numbers written
// without a country code (directory.default_region); "" means "JP". A nil
// logger discards logs.
func New(path, region string, logger *slog.Logger) *Provider {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if region == "" {
		region = "JP"
	}
	return &Provider{path: path, logger: logger, region: region}
}

// Fetch reads the whole file and returns it as a full update (Full and
// AuthFull are true, Cursor is ""): every user's profile in Users, and
// every user's phones (Raw and Type, E164 and Extension normalised) and
// methods in Auth. cursor is ignored. progress, if not nil, is called every
// few thousand rows and once at the end.
//
// Bad rows are skipped or repaired and described in Update.Problems with
// their line number and what to fix (at most 1,000, then a count); the rest
// of the file goes on. A file that cannot be read, whose first row is not a
// header with every required column, or that has no valid user row (a
// truncated file must not empty the directory) is an error.
func (p *Provider) Fetch(ctx context.Context, cursor string, progress func(directory.Progress)) (*directory.Update, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return nil, fmt.Errorf("csv directory: %w", err)
	}
	defer f.Close()
	up, err := p.read(ctx, f, progress)
	if err != nil {
		return nil, fmt.Errorf("csv directory %s: %w", p.path, err)
	}
	p.logger.Debug("csv directory read", "path", p.path, "users", len(up.Users), "problems", len(up.Problems))
	return up, nil
}

// reader holds the state of one read.
type reader struct {
	region   string
	col      map[string]int // column name → index; absent optional columns are -1
	width    int            // fields in the header
	problems []string
	dropped  int // problems beyond maxProblems
}

func (r *reader) problem(format string, args ...any) {
	if len(r.problems) >= maxProblems {
		r.dropped++
		return
	}
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (p *Provider) read(ctx context.Context, f io.Reader, progress func(directory.Progress)) (*directory.Update, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := stdcsv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header row " + headerHint())
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	r := &reader{region: p.region, width: len(header)}
	if r.col, err = mapHeader(header); err != nil {
		return nil, err
	}

	up := &directory.Update{Full: true, AuthFull: true}
	seen := map[string]int{} // id → line
	rows := 0
	for {
		if rows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read: %w", err)
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *stdcsv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read: %w", err)
			}
			hint := "quote fields that contain commas, quotes or line breaks, and double the quotes inside them"
			if errors.Is(pe.Err, stdcsv.ErrQuote) {
				hint = "an unclosed quote runs to the end of the file: " + hint
			}
			r.problem("line %d: %v: row skipped (%s)", pe.StartLine, pe.Err, hint)
			continue
		}
		rows++
		line, _ := cr.FieldPos(0)
		if u, a, ok := r.row(rec, line, seen); ok {
			up.Users = append(up.Users, u)
			up.Auth = append(up.Auth, a)
		}
		if progress != nil && rows%progressEvery == 0 {
			progress(directory.Progress{Stage: "users", Done: rows})
		}
	}
	if progress != nil {
		progress(directory.Progress{Stage: "users", Done: rows, Total: rows})
	}
	if len(up.Users) == 0 {
		// A truncated or wholly broken file must not empty the cache.
		return nil, fmt.Errorf("no valid user rows (%d rows read, %d problems): refusing to report an empty directory", rows, len(r.problems)+r.dropped)
	}
	if r.dropped > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d more problems not listed", r.dropped))
	}
	up.Problems = r.problems
	return up, nil
}

func headerHint() string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return strings.Join(names, ",")
}

// mapHeader finds each column by name (case-insensitive, any order).
func mapHeader(header []string) (map[string]int, error) {
	col := make(map[string]int, len(columns))
	known := make(map[string]bool, len(columns))
	for _, c := range columns {
		known[c.name] = true
		col[c.name] = -1
	}
	var errs []error
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !known[name] {
			continue // extra columns are ignored
		}
		if col[name] >= 0 {
			errs = append(errs, fmt.Errorf("header row: column %q appears twice (columns %d and %d)", name, col[name]+1, i+1))
			continue
		}
		col[name] = i
	}
	var missing []string
	for _, c := range columns {
		if c.required && col[c.name] < 0 {
			missing = append(missing, fmt.Sprintf("%q", c.name))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("header row: missing column %s (want a first row like %s)", strings.Join(missing, ", "), headerHint()))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return col, nil
}

// row turns one record into a user and its MFA registration, or reports
// why the row is skipped.
func (r *reader) row(rec []string, line int, seen map[string]int) (carrierwatch.User, directory.Auth, bool) {
	var u carrierwatch.User
	var a directory.Auth
	if len(rec) != r.width {
		extraEmpty := len(rec) > r.width
		for _, f := range rec[min(r.width, len(rec)):] {
			if strings.TrimSpace(f) != "" {
				extraEmpty = false
			}
		}
		if !extraEmpty {
			r.problem("line %d: %d fields, the header has %d: row skipped (quote fields that contain commas)", line, len(rec), r.width)
			return u, a, false
		}
		r.problem("line %d: %d fields, the header has %d: the empty extra fields were ignored (remove the trailing commas)", line, len(rec), r.width)
	}
	badUTF8 := false
	get := func(name string) string {
		i := r.col[name]
		if i < 0 {
			return ""
		}
		v := strings.TrimSpace(rec[i])
		if !utf8.ValidString(v) {
			badUTF8 = true
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		return v
	}

	id := get(colID)
	if id == "" {
		r.problem("line %d: empty id: row skipped", line)
		return u, a, false
	}
	if prev, dup := seen[id]; dup {
		r.problem("line %d: id %s is already on line %d: row skipped (ids must be unique)", line, quoteID(id), prev)
		return u, a, false
	}
	seen[id] = line
	whereS := ""
	where := func() string { // built only when there is a problem
		if whereS == "" {
			whereS = fmt.Sprintf("line %d (id %s)", line, quoteID(id))
		}
		return whereS
	}

	u = carrierwatch.User{
		ID:                id,
		UPN:               get(colUPN),
		DisplayName:       get(colDisplayName),
		PreferredLanguage: get(colPreferredLanguage),
	}
	if m := get(colMail); m != "" {
		if validAddress(m) {
			u.Mail = m
		} else {
			r.problem("%s: mail %s is not an e-mail address: ignored", where(), maskAddress(m))
		}
	}
	for i, m := range splitList(get(colAlternateEmails)) {
		switch {
		case !validAddress(m):
			r.problem("%s: alternate_emails item %d, %s, is not an e-mail address: ignored", where(), i+1, maskAddress(m))
		case !containsFold(u.AlternateEmails, m):
			u.AlternateEmails = append(u.AlternateEmails, m)
		}
	}
	if u.Mail == "" && len(u.AlternateEmails) == 0 {
		r.problem("%s: no mail and no alternate_emails: user kept, but no notice can reach them", where())
	}

	var phones []carrierwatch.Phone
	for i, item := range splitList(get(colPhones)) {
		typ, raw, ok := strings.Cut(item, ":")
		typ, raw = strings.TrimSpace(typ), strings.TrimSpace(raw)
		if !ok {
			r.problem("%s: phones item %d has no type (write mobile:, alternateMobile: or office: before the number): dropped", where(), i+1)
			continue
		}
		pt, known := phoneType(typ)
		if !known {
			r.problem("%s: phones item %d: unknown phone type %s (use mobile, alternateMobile or office): dropped", where(), i+1, quoteType(typ))
			continue
		}
		if raw == "" {
			r.problem("%s: phones item %d (%s) has no number: dropped", where(), i+1, pt)
			continue
		}
		phones = append(phones, carrierwatch.Phone{Type: pt, Raw: raw})
	}
	phones, problems := directory.NormalizePhones(phones, r.region)
	for _, p := range problems {
		r.problem("%s: %s", where(), p)
	}

	var methods []string
	for _, m := range splitList(get(colMethods)) {
		if !contains(methods, m) {
			methods = append(methods, m)
		}
	}
	if badUTF8 {
		r.problem("%s: not valid UTF-8 (was the file saved as Shift_JIS?): repaired with U+FFFD; save the file as UTF-8", where())
	}
	a = directory.Auth{UserID: id, Phones: phones, Methods: methods}
	return u, a, true
}

// phoneType maps the names a CSV may use to Graph phone types: Graph's
// own, case-insensitive, and the methodsRegistered spellings.
func phoneType(s string) (carrierwatch.PhoneType, bool) {
	switch strings.ToLower(s) {
	case "mobile", "mobilephone":
		return carrierwatch.PhoneMobile, true
	case "alternatemobile", "alternatemobilephone":
		return carrierwatch.PhoneAlternateMobile, true
	case "office", "officephone":
		return carrierwatch.PhoneOffice, true
	}
	return "", false
}

// splitList splits a ';'-separated cell, trimming items and dropping empty
// ones.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(s, ";") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validAddress accepts a bare address ("a@example.ac.jp"), not a display
// name form.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// maskAddress quotes an address masked with carrierwatch.MaskAddress for
// a problem: "h***@mail.example.com"; anything else becomes "***".
func maskAddress(s string) string {
	return fmt.Sprintf("%q", carrierwatch.MaskAddress(s))
}

// quoteID quotes an id for a problem, cut to 64 bytes.
func quoteID(id string) string {
	if len(id) > 64 {
		id = strings.ToValidUTF8(id[:64], "") + "…"
	}
	return fmt.Sprintf("%q", id)
}

// quoteType quotes an unknown phone type unless it holds digits (then it
// may be part of a number).
func quoteType(t string) string {
	if t == "" || len(t) > 32 || strings.ContainsFunc(t, unicode.IsDigit) {
		return "(not shown)"
	}
	return fmt.Sprintf("%q", t)
}
