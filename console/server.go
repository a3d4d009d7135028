package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/phone"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ErrNotFound may be wrapped by a Service to say that an incident, campaign,
// user or message does not exist; the console answers 404.
var ErrNotFound = errors.New("not found")

// Options configure a console.
type Options struct {
	Service Service
	Auth    AuthConfig
	Logger  *slog.Logger
	// PageSize is how many messages a page lists; 50 when zero.
	PageSize int
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// IsNotFound tells the service's "no such row" errors; when nil, an
	// error that is ErrNotFound or store.ErrNotFound.
	IsNotFound func(error) bool
}

// Server is the web console. It is safe for concurrent use.
type Server struct {
	svc      Service
	auth     *authenticator
	csrf     *csrf
	logger   *slog.Logger
	pageSize int
	now      func() time.Time
	notFound func(error) bool
	pages    map[string]map[string]*template.Template // lang → page → template
	handler  http.Handler
}

// New builds the console; it reads the users file, if any, and parses the
// embedded templates.
func New(opts Options) (*Server, error) {
	if opts.Service == nil {
		return nil, errors.New("console: no service")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	auth, err := newAuthenticator(opts.Auth, opts.Logger)
	if err != nil {
		return nil, err
	}
	s := &Server{svc: opts.Service, auth: auth, csrf: newCSRF(), logger: opts.Logger,
		pageSize: opts.PageSize, now: opts.Now, notFound: opts.IsNotFound}
	if s.pageSize <= 0 {
		s.pageSize = 50
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.notFound == nil {
		s.notFound = func(err error) bool { return errors.Is(err, ErrNotFound) || errors.Is(err, store.ErrNotFound) }
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ReloadUsers reads http.auth.users_file again (SIGHUP): users added or
// removed since the start take effect. On an error the users read before
// stay and the error is returned.
func (s *Server) ReloadUsers() error { return s.auth.reload() }

// ServeHTTP serves the console's pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

var _ http.Handler = (*Server)(nil)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /lang", s.switchLang)
	mux.HandleFunc("GET /incidents", s.incidents)
	mux.HandleFunc("POST /incidents", s.openIncident)
	mux.HandleFunc("GET /incidents/{id}", s.incident)
	mux.HandleFunc("POST /incidents/{id}/resolve", s.resolveIncident)
	mux.HandleFunc("GET /campaigns", s.campaigns)
	mux.HandleFunc("GET /campaigns/{id}", s.campaign)
	mux.HandleFunc("GET /campaigns/{id}/progress", s.campaignProgress)
	mux.HandleFunc("GET /campaigns/{id}/{action}", s.confirmCampaign)
	mux.HandleFunc("POST /campaigns/{id}/{action}", s.actCampaign)
	mux.HandleFunc("GET /users", s.users)
	mux.HandleFunc("GET /users/{id}", s.user)
	mux.HandleFunc("GET /messages/{id}", s.message)
	mux.HandleFunc("GET /messages/{id}/body.html", s.messageHTML)
	mux.HandleFunc("GET /exposure", s.exposure)
	mux.HandleFunc("GET /preview", s.preview)
	mux.HandleFunc("GET /preview/{kind}/{segment}/{lang}", s.previewHTML)
	return secureHeaders(s.auth.wrap(s.csrf.protect(limitBody(mux))))
}

// limitBody caps form posts: the console's forms are a few fields.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// page is what every page template gets.
type page struct {
	Lang, Title, Nav string
	Actor, CSRF      string
	Path             string // the current path and query, for the language switch
	Flash            string
	Now              time.Time
	Refresh          bool // load the progress script
	Data             any
}

func (s *Server) parseTemplates() error {
	s.pages = map[string]map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, lang := range languages {
		s.pages[lang] = map[string]*template.Template{}
		base, err := template.New("layout.html").Funcs(s.funcs(lang)).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
		if err != nil {
			return fmt.Errorf("console templates: %w", err)
		}
		for _, n := range names {
			name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if name == "layout" || name == "partials" {
				continue
			}
			t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
			if err != nil {
				return fmt.Errorf("console templates: %w", err)
			}
			s.pages[lang][name] = t
		}
	}
	return nil
}

func (s *Server) funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t":    func(key string, args ...any) string { return translate(lang, key, args...) },
		"time": func(t time.Time) string { return fmtTime(lang, t) },
		"ago":  func(now, t time.Time) string { return ago(lang, now, t) },
		"num":  fmtNum,
		"rate": fmtRate,
		"dur":  func(d time.Duration) string { return fmtDuration(lang, d) },
		"erate": func(e sendEstimate) string {
			if e.RateLimit <= 0 {
				return translate(lang, "relay.nolimit")
			}
			unit := map[bool]map[string]string{false: {"en": "/s", "ja": " 通/秒"}, true: {"en": "/min", "ja": " 通/分"}}[e.PerMinute][lang]
			return fmtRate(e.RateLimit) + unit
		},
		"limits":  func(r service.RelayStatus) sendEstimate { return estimate(0, r) },
		"mask":    carrierwatch.MaskAddress,
		"maskAll": maskAll,
		"phone":   maskPhone,
		"state":   func(v any) string { return translate(lang, "state."+fmt.Sprint(v)) },
		"kind":    func(v any) string { return translate(lang, "kind."+fmt.Sprint(v)) },
		"seg":     func(v any) string { return translate(lang, "seg."+fmt.Sprint(v)) },
		// tOr translates prefix+v, or shows v as it is when there is no
		// message for it (a verdict a newer detector adds).
		"tOr": func(prefix string, v any) string {
			if m, ok := messages[lang][prefix+fmt.Sprint(v)]; ok {
				return m
			}
			return fmt.Sprint(v)
		},
		"progress": progressOf,
		"add":      func(a, b int) int { return a + b },
		"list":     func(v ...string) []string { return v },
		"dict2":    func(a, b any) pair { return pair{a, b} },
		"query":    url.QueryEscape,
	}
}

// pair passes two values to a sub-template.
type pair struct{ A, B any }

// render writes a page, buffered so an error shows as an error page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	lang := pickLang(r)
	p.Lang, p.Now = lang, s.now()
	p.Actor = actorOf(r.Context())
	p.CSRF = s.csrf.token(p.Actor)
	p.Path = r.URL.RequestURI()
	if q := r.URL.Query(); phoneLike(q.Get("q")) {
		q.Del("q") // a number searched for is never shown again
		p.Path = r.URL.Path + "?" + q.Encode()
	}
	if p.Flash == "" {
		p.Flash = flashText(lang, r.URL.Query().Get("done"), r.URL.Query().Get("n"), r.URL.Query().Get("id"))
	}
	t := s.pages[lang][name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.logger.Error("console page failed", "page", name, "err", err)
		http.Error(w, "500 the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers an error from the service: 404 for a missing row, 500 else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	lang := pickLang(r)
	status, title := http.StatusInternalServerError, translate(lang, "error")
	switch {
	case s.notFound(err):
		status, title = http.StatusNotFound, translate(lang, "notfound")
	case errors.Is(err, service.ErrUnknownCarrier):
		status = http.StatusBadRequest
	default:
		s.logger.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	msg := carrierwatch.MaskAddressesIn(err.Error())
	s.render(w, r, status, "error", page{Title: title, Data: msg})
}

// badRequest answers a form or path the console cannot use.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, http.StatusBadRequest, "error", page{Title: translate(pickLang(r), "error"), Data: msg})
}

// flashText is the line shown after an action redirected back.
func flashText(lang, done, nText, idText string) string {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return ""
	}
	n, _ := strconv.Atoi(nText)
	switch done {
	case "approved":
		return translate(lang, "done.approved", id, fmtNum(n))
	case "cancelled":
		return translate(lang, "done.cancelled", id)
	case "resolved":
		return translate(lang, "done.resolved", id)
	case "opened":
		return translate(lang, "done.opened", id)
	}
	return ""
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// switchLang remembers the chosen language and goes back.
func (s *Server) switchLang(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to != "ja" && to != "en" {
		to = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	back := r.URL.Query().Get("back")
	// Only a path of this site: never an open redirect.
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.HasPrefix(back, "/\\") {
		back = "/"
	}
	if u, err := url.Parse(back); err == nil {
		q := u.Query()
		q.Del("lang")
		u.RawQuery = q.Encode()
		back = u.RequestURI()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// progress is a campaign's counts, and the parts of its progress bar as
// offsets and widths in percent of the messages not cancelled.
type progress struct {
	Total, Sent, Pending, Retrying, Failed, Cancelled int
	Parts                                             []barPart
	Done                                              int // percent finished (sent or failed)
}

type barPart struct {
	Class, X, W string
}

func progressOf(c carrierwatch.MessageCounts) progress {
	p := progress{Total: c.Total, Sent: c.Sent, Pending: c.Pending - c.Waiting + c.Sending, Retrying: c.Waiting, Failed: c.Failed, Cancelled: c.Cancelled}
	den := c.Total - c.Cancelled
	x := 0.0
	for _, part := range []struct {
		class string
		n     int
	}{{"sent", p.Sent}, {"failed", p.Failed}, {"retrying", p.Retrying}, {"pending", p.Pending}} {
		w := 0.0
		if den > 0 {
			w = float64(part.n) * 100 / float64(den)
		}
		p.Parts = append(p.Parts, barPart{part.class, strconv.FormatFloat(x, 'f', 2, 64), strconv.FormatFloat(w, 'f', 2, 64)})
		x += w
	}
	p.Done = 100
	if den > 0 {
		p.Done = (c.Sent + c.Failed) * 100 / den
	}
	return p
}

func maskAll(addrs []string) string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = carrierwatch.MaskAddress(a)
	}
	return strings.Join(out, ", ")
}

// maskPhone shows a registered phone with its middle hidden; it never
// returns the full number, also for one that could not be parsed.
func maskPhone(p carrierwatch.Phone) string {
	if p.E164 != "" {
		return phone.Mask(p.E164)
	}
	return phone.Mask(p.Raw)
}
