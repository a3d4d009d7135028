package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/templates"
)

// Notice is one incident as the pages show it: the incident (its state,
// scope and areas, partial recovery, stated start) and what the source
// knows beyond the incident record.
type Notice struct {
	Incident *carrierwatch.Incident
	// CarrierName names the carrier's brands ("au / UQ mobile / povo").
	CarrierName string
	// AllPhones says the carrier covers every phone (match.all_phones: a
	// telephony provider or the organisation's PBX): the pages say codes
	// and calls may not arrive whatever the reader's mobile carrier.
	AllPhones bool
	// Held is true while the incident's campaign waits for an admin's
	// approval: nothing is published for it until then.
	Held bool
}

// Source lists the incidents the pages may show, newest first or in any
// order. It is declared here, by its consumer; the pipeline implements it.
type Source interface {
	Notices(ctx context.Context) ([]Notice, error)
}

// Links are the organisation's pages the notice points to.
type Links struct {
	// SupportForm is where a locked-out user asks for an MFA reset. It may
	// hold the mail placeholders {upn}, {masked_phone}, {carrier} and
	// {incident}; on the public page the personal ones are left empty.
	SupportForm string
	// SupportFormWithoutSignIn says the form works without signing in.
	SupportFormWithoutSignIn bool
	// MFASetup explains how to register an authenticator app or passkey.
	MFASetup string
}

// Options configure a Publisher.
type Options struct {
	// Dir is the folder the files are written into; it is created when
	// missing.
	Dir string
	// BaseURL is the folder's public address; "" makes links relative and
	// Atom ids URNs.
	BaseURL string
	// TemplatesDir holds template overrides; "" uses the embedded ones.
	TemplatesDir string
	// Author names who publishes the notice in the Atom feed (the
	// organisation's help desk); "carrierwatch" when empty.
	Author string
	Links  Links
	// Recent is how many resolved incidents the index lists (default 10).
	Recent int
}

// Publisher writes the notice pages. It is safe for concurrent use;
// Publish calls run one at a time.
type Publisher struct {
	src    Source
	opts   Options
	tmpl   *Templates
	logger *slog.Logger
	mu     sync.Mutex
}

// New returns a Publisher reading incidents from src. It loads the
// templates (embedded, then the overrides in opts.TemplatesDir) and
// reports template errors naming the file.
func New(src Source, opts Options, logger *slog.Logger) (*Publisher, error) {
	if opts.Dir == "" {
		return nil, errors.New("publish: no folder to write into (set publish.dir)")
	}
	t, err := LoadTemplates(opts.TemplatesDir)
	if err != nil {
		return nil, err
	}
	if opts.Recent <= 0 {
		opts.Recent = 10
	}
	if opts.Author == "" {
		opts.Author = "carrierwatch"
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{src: src, opts: opts, tmpl: t, logger: logger}, nil
}

// Result says what one Publish call did.
type Result struct {
	Incidents int      // incidents published
	Written   []string // files replaced because their content changed
	Removed   []string // pages of incidents no longer published
}

// Publish renders every file from the source and replaces those whose
// content changed. On an error the files already replaced stay, the
// others keep their last content; calling Publish again finishes the job.
func (p *Publisher) Publish(ctx context.Context) (Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var res Result
	notices, err := p.src.Notices(ctx)
	if err != nil {
		return res, fmt.Errorf("publish: list incidents: %w", err)
	}
	files, ids, err := p.Render(notices, time.Now())
	if err != nil {
		return res, err
	}
	res.Incidents = len(ids)
	if err := mkdirPublic(p.opts.Dir); err != nil {
		return res, fmt.Errorf("publish: %w", err)
	}
	removeStaleTemps(p.opts.Dir)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		changed, err := writeFile(p.opts.Dir, name, files[name])
		if err != nil {
			return res, err
		}
		if changed {
			res.Written = append(res.Written, name)
		}
	}
	removed, err := removeUnpublished(p.opts.Dir, ids)
	res.Removed = removed
	if err != nil {
		return res, err
	}
	if len(res.Written)+len(res.Removed) > 0 {
		if err := syncDir(p.opts.Dir); err != nil {
			return res, err
		}
		p.logger.Info("notice pages published", "dir", p.opts.Dir, "incidents", res.Incidents,
			"written", len(res.Written), "removed", len(res.Removed))
	}
	return res, nil
}

// Render returns the content of every file, by name, and the ids of the
// incidents published; now is only used to choose the recent incidents.
// Nothing is written.
func (p *Publisher) Render(notices []Notice, now time.Time) (map[string][]byte, map[int64]bool, error) {
	var shown []Notice
	for _, n := range notices {
		if n.Incident == nil || n.Held {
			continue
		}
		shown = append(shown, n)
	}
	sort.SliceStable(shown, func(i, j int) bool {
		a, b := shown[i].Incident, shown[j].Incident
		if !a.OpenedAt.Equal(b.OpenedAt) {
			return a.OpenedAt.After(b.OpenedAt)
		}
		return a.ID > b.ID
	})
	files := map[string][]byte{}
	ids := map[int64]bool{}
	var current, recent []Notice
	for _, n := range shown {
		ids[n.Incident.ID] = true
		if n.Incident.State == carrierwatch.IncidentResolved {
			if len(recent) < p.opts.Recent {
				recent = append(recent, n)
			}
		} else {
			current = append(current, n)
		}
		for _, lang := range Languages {
			b, err := p.tmpl.renderIncident(lang, p.incidentPage(lang, n))
			if err != nil {
				return nil, nil, err
			}
			files[IncidentFile(n.Incident.ID, lang)] = b
		}
	}
	for _, lang := range Languages {
		b, err := p.tmpl.renderIndex(lang, p.indexPage(lang, current, recent))
		if err != nil {
			return nil, nil, err
		}
		files[IndexFile(lang)] = b
	}
	atom, err := p.atom(append(append([]Notice(nil), current...), recent...))
	if err != nil {
		return nil, nil, err
	}
	files[AtomFile] = atom
	return files, ids, nil
}

// Languages lists the languages of the pages; the first is the default
// (index.html, incident-<id>.html).
var Languages = []string{"ja", "en"}

// AtomFile is the name of the feed.
const AtomFile = "notices.atom"

// IndexFile returns the index page's file name in lang.
func IndexFile(lang string) string {
	if lang == Languages[0] {
		return "index.html"
	}
	return "index." + lang + ".html"
}

// IncidentFile returns the file name of incident id's page in lang.
func IncidentFile(id int64, lang string) string {
	if lang == Languages[0] {
		return fmt.Sprintf("incident-%d.html", id)
	}
	return fmt.Sprintf("incident-%d.%s.html", id, lang)
}

// IncidentURL returns the public address of incident id's page in lang
// under baseURL, or "" when baseURL is empty. A language without pages
// gets the default one.
func IncidentURL(baseURL string, id int64, lang string) string {
	if baseURL == "" {
		return ""
	}
	known := false
	for _, l := range Languages {
		known = known || l == lang
	}
	if !known {
		lang = Languages[0]
	}
	return strings.TrimSuffix(baseURL, "/") + "/" + IncidentFile(id, lang)
}

// href is the link from one published file to another: absolute under the
// base URL when there is one, relative otherwise.
func (p *Publisher) href(name string) string {
	if p.opts.BaseURL == "" {
		return name
	}
	return strings.TrimSuffix(p.opts.BaseURL, "/") + "/" + name
}

// SupportFormURL fills the placeholders of a support form link for the
// public page (see templates.FillLink): {carrier} and {incident} with the
// incident's, {upn} and {masked_phone} with nothing, as the page is not
// for one user.
func SupportFormURL(link, carrier string, incident int64) string {
	return templates.FillLink(link, "", "", carrier, incident)
}

// mkdirPublic creates dir when it is missing, readable by everyone (the
// web server) whatever the process umask (the systemd unit's is 0077). A
// folder that exists keeps its mode: the admin chose it.
func mkdirPublic(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Chmod(dir, 0o755)
}

// tempPrefix starts the names of files being written.
const tempPrefix = ".publish-"

// writeFile replaces dir/name with data unless it already holds exactly
// that, through a temporary file in dir that is synced, made readable by
// everyone (the pages are public) and renamed over the old file.
func writeFile(dir, name string, data []byte) (changed bool, err error) {
	path := filepath.Join(dir, name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() == 0o644 {
			return false, nil
		}
	}
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*")
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	if err = f.Sync(); err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	if err = f.Close(); err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("publish %s: %w", name, err)
	}
	return true, nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("publish: sync folder: %w", err)
	}
	return nil
}

// removeStaleTemps removes temporary files an interrupted Publish left
// behind; recent ones may belong to another process writing right now.
func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 10*time.Minute {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

var incidentName = regexp.MustCompile(`^incident-([0-9]+)(\.[a-z]+)?\.html$`)

// removeUnpublished removes the pages of incidents not in ids (deleted by
// retention, or held for approval again). Other files are left alone.
func removeUnpublished(dir string, ids map[int64]bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	var removed []string
	for _, e := range entries {
		m := incidentName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || ids[id] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("publish: %w", err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
