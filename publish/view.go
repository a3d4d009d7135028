package publish

import (
	"net/url"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// Statuses an incident's page shows.
const (
	StatusOngoing         = "ongoing"
	StatusPartlyRecovered = "partly-recovered"
	StatusRecovered       = "recovered"
)

// Status returns the status the pages show for n.
func Status(n Notice) string {
	switch {
	case n.Incident.State == carrierwatch.IncidentResolved:
		return StatusRecovered
	case n.Incident.PartlyRecovered:
		return StatusPartlyRecovered
	}
	return StatusOngoing
}

// page is what one page template is executed with.
type page struct {
	Lang string
	// Alternate is the same page in the other language.
	Alternate struct{ Lang, Href string }
	IndexHref string
	AtomHref  string
	// Updated is when what the page says last changed (zero for an index
	// without incidents).
	Updated time.Time

	Incident *incidentView   // the incident page's incident
	Current  []*incidentView // the index's ongoing incidents
	Recent   []*incidentView // the index's recently recovered ones

	// SupportForm is the support link with the incident's placeholders
	// filled (on the index, without an incident).
	SupportForm string
	// SupportFormWithoutSignIn says the form works without signing in.
	SupportFormWithoutSignIn bool
	MFASetup                 string
}

// incidentView is one incident as a template sees it. Title and NoticeURL
// come from a carrier's notice: untrusted, cut to one line, escaped by
// html/template.
type incidentView struct {
	ID          int64
	CarrierName string
	AllPhones   bool // see Notice.AllPhones
	Title       string
	NoticeURL   string
	Status      string
	Regional    bool
	Areas       []string
	// StartedAt is the carrier's stated start; zero when unknown, and
	// DetectedAt is shown instead.
	StartedAt  time.Time
	DetectedAt time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time
	// Href is the incident's page in the page's language.
	Href string
}

func other(lang string) string {
	for _, l := range Languages {
		if l != lang {
			return l
		}
	}
	return lang
}

func (p *Publisher) view(lang string, n Notice) *incidentView {
	inc := n.Incident
	v := &incidentView{
		ID: inc.ID, CarrierName: carrierwatch.OneLine(n.CarrierName, 200), AllPhones: n.AllPhones, Title: carrierwatch.OneLine(inc.Title, 300),
		Status: Status(n), Regional: inc.Scope == carrierwatch.ScopeRegional, StartedAt: inc.StartedAt, DetectedAt: inc.OpenedAt,
		UpdatedAt: inc.UpdatedAt, ResolvedAt: inc.ResolvedAt, Href: p.href(IncidentFile(inc.ID, lang)),
	}
	if v.CarrierName == "" {
		v.CarrierName = inc.CarrierID
	}
	if u, err := url.Parse(inc.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		v.NoticeURL = carrierwatch.OneLine(inc.URL, 2000)
	}
	for _, a := range inc.Areas {
		if a = carrierwatch.OneLine(a, 100); a != "" {
			v.Areas = append(v.Areas, a)
		}
	}
	if v.UpdatedAt.Before(v.ResolvedAt) {
		v.UpdatedAt = v.ResolvedAt
	}
	return v
}

func (p *Publisher) incidentPage(lang string, n Notice) *page {
	v := p.view(lang, n)
	pg := &page{
		Lang: lang, Incident: v, Updated: v.UpdatedAt,
		IndexHref: p.href(IndexFile(lang)), AtomHref: p.href(AtomFile),
		SupportForm: SupportFormURL(p.opts.Links.SupportForm, n.CarrierName, n.Incident.ID),
		MFASetup:    p.opts.Links.MFASetup, SupportFormWithoutSignIn: p.opts.Links.SupportFormWithoutSignIn,
	}
	pg.Alternate.Lang = other(lang)
	pg.Alternate.Href = p.href(IncidentFile(n.Incident.ID, other(lang)))
	return pg
}

func (p *Publisher) indexPage(lang string, current, recent []Notice) *page {
	pg := &page{
		Lang: lang, IndexHref: p.href(IndexFile(lang)), AtomHref: p.href(AtomFile),
		SupportForm: SupportFormURL(p.opts.Links.SupportForm, "", 0),
		MFASetup:    p.opts.Links.MFASetup, SupportFormWithoutSignIn: p.opts.Links.SupportFormWithoutSignIn,
	}
	if len(current) == 1 {
		pg.SupportForm = SupportFormURL(p.opts.Links.SupportForm, current[0].CarrierName, current[0].Incident.ID)
	}
	pg.Alternate.Lang = other(lang)
	pg.Alternate.Href = p.href(IndexFile(other(lang)))
	for _, n := range current {
		v := p.view(lang, n)
		pg.Current = append(pg.Current, v)
		if v.UpdatedAt.After(pg.Updated) {
			pg.Updated = v.UpdatedAt
		}
	}
	for _, n := range recent {
		v := p.view(lang, n)
		pg.Recent = append(pg.Recent, v)
		if v.UpdatedAt.After(pg.Updated) {
			pg.Updated = v.UpdatedAt
		}
	}
	return pg
}

// sampleNotices are the incidents the templates are tried with when they
// load and in the golden tests: the July 2022 au outage as it went, and a
// regional one.
func sampleNotices() []Notice {
	opened := time.Date(2022, 7, 2, 1, 50, 0, 0, jst)
	started := time.Date(2022, 7, 2, 1, 35, 0, 0, jst)
	au := func(id int64, state carrierwatch.IncidentState, updated, resolved time.Time) *carrierwatch.Incident {
		return &carrierwatch.Incident{
			ID: id, CarrierID: "kddi", State: state,
			Title:    "【障害】au携帯電話サービスがご利用しづらい状況について",
			URL:      "https://www.au.com/information/topic/mobile/2022-001/",
			OpenedAt: opened, UpdatedAt: updated, ResolvedAt: resolved,
			Scope: carrierwatch.ScopeNational, StartedAt: started,
		}
	}
	return []Notice{
		{Incident: au(1, carrierwatch.IncidentOpen, opened.Add(6*time.Hour), time.Time{}), CarrierName: "au / UQ mobile / povo"},
		{Incident: &carrierwatch.Incident{
			ID: 2, CarrierID: "docomo", State: carrierwatch.IncidentOpen,
			Title:    "一部エリアでドコモの携帯電話サービスがご利用しづらい状況について",
			URL:      "https://www.docomo.ne.jp/info/network/",
			OpenedAt: opened.Add(time.Hour), UpdatedAt: opened.Add(3 * time.Hour),
			Scope: carrierwatch.ScopeRegional, Areas: []string{"東海地方", "北陸地方"}, PartlyRecovered: true,
		}, CarrierName: "docomo"},
		{Incident: au(3, carrierwatch.IncidentResolved, opened.Add(86*time.Hour), opened.Add(86*time.Hour)), CarrierName: "au / UQ mobile / povo"},
	}
}
