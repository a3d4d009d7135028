package console

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/templates"
)

// searchLimit is how many users a help-desk search lists.
const searchLimit = 50

type usersData struct {
	// Q is the search as shown back; a phone number is shown masked and
	// not put back into the field or links.
	Q     string
	Field string
	Users []carrierwatch.User
	More  bool
	Limit int
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := usersData{Q: q, Field: q, Limit: searchLimit}
	if phoneLike(q) {
		d.Q, d.Field = maskPhone(carrierwatch.Phone{Raw: q}), ""
	}
	if q != "" {
		us, err := s.svc.FindUsers(r.Context(), q, searchLimit+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(us) > searchLimit {
			us, d.More = us[:searchLimit], true
		}
		d.Users = us
		// One match: straight to that user.
		if len(us) == 1 && !d.More {
			http.Redirect(w, r, "/users/"+url.PathEscape(us[0].ID)+"?q="+url.QueryEscape(d.Field), http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, http.StatusOK, "users", page{Title: translate(pickLang(r), "helpdesk"), Nav: "users", Data: d})
}

type userData struct {
	D *service.UserDetail
	Q string
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	det, err := s.svc.User(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query().Get("q")
	if phoneLike(q) {
		q = ""
	}
	s.render(w, r, http.StatusOK, "user", page{Title: det.User.DisplayName, Nav: "users", Data: userData{D: det, Q: q}})
}

type messageData struct {
	M    *carrierwatch.Message
	Mail *carrierwatch.Mail
	User *carrierwatch.User
}

// message shows one mail as its user received it: the help desk's "what
// exactly did I get?". Full addresses: this is one user's page.
func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, ErrNotFound)
		return
	}
	m, mail, err := s.svc.RenderMessage(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "message", page{Title: translate(pickLang(r), "mail", m.ID, m.UserID), Nav: "users", Data: messageData{M: m, Mail: mail}})
}

// messageHTML serves a mail's HTML part for the sandboxed frame of the
// message page.
func (s *Server) messageHTML(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, mail, err := s.svc.RenderMessage(r.Context(), id)
	if err != nil {
		if s.notFound(err) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "500", http.StatusInternalServerError)
		return
	}
	writeMailHTML(w, mail.HTML)
}

func writeMailHTML(w http.ResponseWriter, html string) {
	w.Header().Set("Content-Security-Policy", mailPolicy)
	w.Header().Del("X-Frame-Options")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(html))
}

// combination is one preview.
type combination struct {
	Kind    carrierwatch.Kind
	Segment carrierwatch.Segment
	Lang    string
	Mail    *service.Preview
	Err     string
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	var list []combination
	for _, lang := range templates.Languages {
		for _, c := range templates.Combinations() {
			cb := combination{Kind: c.Kind, Segment: c.Segment, Lang: lang}
			m, err := s.svc.Preview(r.Context(), service.PreviewRequest{Kind: c.Kind, Segment: c.Segment, Lang: lang})
			if err != nil {
				cb.Err = err.Error()
			} else {
				cb.Mail = m
			}
			list = append(list, cb)
		}
	}
	s.render(w, r, http.StatusOK, "preview", page{Title: translate(pickLang(r), "preview"), Nav: "preview", Data: list})
}

func (s *Server) previewHTML(w http.ResponseWriter, r *http.Request) {
	kind, seg, lang := carrierwatch.Kind(r.PathValue("kind")), carrierwatch.Segment(r.PathValue("segment")), r.PathValue("lang")
	if !kind.Valid() || !seg.Valid() {
		http.NotFound(w, r)
		return
	}
	m, err := s.svc.Preview(r.Context(), service.PreviewRequest{Kind: kind, Segment: seg, Lang: lang})
	if err != nil {
		http.Error(w, "404 "+err.Error(), http.StatusNotFound)
		return
	}
	writeMailHTML(w, m.HTML)
}

// phoneLike reports whether a search is a phone number: only digits and
// the characters people write numbers with, eight digits or more. Pages
// never show one in full, not even the one just typed.
func phoneLike(q string) bool {
	n := 0
	for _, r := range q {
		switch {
		case unicode.IsDigit(r):
			n++
		case strings.ContainsRune("+-() .ー－", r) || unicode.IsSpace(r):
		default:
			return false
		}
	}
	return n >= 8
}
