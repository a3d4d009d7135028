package publish

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed pages/*
var embedded embed.FS

// commonFile holds what every language shares (the inline style sheet).
const commonFile = "common.html"

// pageFiles are the template files of one language, without the language
// prefix; each language has every one of them.
var pageFiles = []string{"partials.html", "index.html", "incident.html"}

// jst is Japan Standard Time (no daylight saving time).
var jst = time.FixedZone("JST", 9*60*60)

// Templates are the loaded page templates, one set per language.
type Templates struct {
	sets map[string]*template.Template
}

// TemplateNames lists the file names an override folder may hold.
func TemplateNames() []string {
	names := []string{commonFile}
	for _, lang := range Languages {
		for _, f := range pageFiles {
			names = append(names, lang+"."+f)
		}
	}
	return names
}

// LoadTemplates loads the embedded page templates. When dir is not empty,
// each file there named like an embedded template replaces it; other
// files are ignored, except names with a language prefix ("ja.", "en.")
// that match no template, which are likely misspelt and are errors. Every
// page is rendered once with sample data, so that a template that fails
// only when executed is reported here, naming the file.
func LoadTemplates(dir string) (*Templates, error) {
	src := map[string]string{}
	origin := map[string]string{}
	for _, name := range TemplateNames() {
		b, err := embedded.ReadFile("pages/" + name)
		if err != nil {
			return nil, fmt.Errorf("load page templates: embedded %s: %w", name, err)
		}
		src[name], origin[name] = string(b), "embedded "+name
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load page templates: read override folder: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() {
				continue
			}
			path := filepath.Join(dir, name)
			if _, known := src[name]; !known {
				for _, lang := range Languages {
					if strings.HasPrefix(name, lang+".") {
						known := TemplateNames()
						sort.Strings(known)
						return nil, fmt.Errorf("load page templates: %s: not a template name; known names are %s", path, strings.Join(known, ", "))
					}
				}
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("load page templates: %w", err)
			}
			if !utf8.Valid(b) {
				return nil, fmt.Errorf("load page templates: %s: not UTF-8", path)
			}
			src[name], origin[name] = string(b), path
		}
	}
	t := &Templates{sets: map[string]*template.Template{}}
	for _, lang := range Languages {
		set := template.New(lang).Funcs(funcs(lang)).Option("missingkey=error")
		for _, name := range append([]string{commonFile}, prefixed(lang)...) {
			if _, err := set.New(name).Parse(src[name]); err != nil {
				return nil, fmt.Errorf("load page templates: %s: %w", origin[name], err)
			}
		}
		t.sets[lang] = set
	}
	if err := t.selfTest(); err != nil {
		for name, o := range origin {
			if !strings.HasPrefix(o, "embedded ") && strings.Contains(err.Error(), name+":") {
				return nil, fmt.Errorf("load page templates: %s: %w", o, err)
			}
		}
		return nil, fmt.Errorf("load page templates: %w", err)
	}
	return t, nil
}

func prefixed(lang string) []string {
	out := make([]string, len(pageFiles))
	for i, f := range pageFiles {
		out[i] = lang + "." + f
	}
	return out
}

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string { return formatDate(lang, t) },
		"iso":  func(t time.Time) string { return t.In(jst).Format(time.RFC3339) },
		"join": strings.Join,
	}
}

// formatDate writes t in JST the way a notice in lang writes dates.
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(jst)
	if lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日 %d時%02d分", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
	}
	return t.Format("2 January 2006, 15:04 MST")
}

func (t *Templates) render(lang, file string, p *page) ([]byte, error) {
	set, ok := t.sets[lang]
	if !ok {
		return nil, fmt.Errorf("render page: unknown language %q", lang)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, lang+"."+file, p); err != nil {
		return nil, fmt.Errorf("render %s page: %w", lang, err)
	}
	return tidy(buf.Bytes()), nil
}

func (t *Templates) renderIncident(lang string, p *page) ([]byte, error) {
	return t.render(lang, "incident.html", p)
}

func (t *Templates) renderIndex(lang string, p *page) ([]byte, error) {
	return t.render(lang, "index.html", p)
}

// tidy drops blank lines and trailing spaces the template actions leave.
func tidy(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimRight(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// selfTest renders every page of every language with sample data.
func (t *Templates) selfTest() error {
	p := &Publisher{opts: Options{Links: Links{SupportForm: "https://example.org/form", MFASetup: "https://example.org/setup"}}, tmpl: t}
	for _, n := range sampleNotices() {
		for _, lang := range Languages {
			if _, err := t.renderIncident(lang, p.incidentPage(lang, n)); err != nil {
				return err
			}
		}
	}
	for _, lang := range Languages {
		s := sampleNotices()
		if _, err := t.renderIndex(lang, p.indexPage(lang, s[:2], s[2:])); err != nil {
			return err
		}
		if _, err := t.renderIndex(lang, p.indexPage(lang, nil, nil)); err != nil {
			return err
		}
	}
	return nil
}
