package publish

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// The Atom feed (RFC 4287), built with encoding/xml so that it is always
// well-formed whatever a notice's title holds.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel      string `xml:"rel,attr,omitempty"`
	Type     string `xml:"type,attr,omitempty"`
	HrefLang string `xml:"hreflang,attr,omitempty"`
	Href     string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Text string `xml:",chardata"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     string     `xml:"title"`
	Updated   string     `xml:"updated"`
	Published string     `xml:"published"`
	Author    atomPerson `xml:"author"`
	Links     []atomLink `xml:"link"`
	Summary   atomText   `xml:"summary"`
}

// atomID is the permanent id of a published file: its public address when
// there is a base URL, else a URN naming it.
func (p *Publisher) atomID(name string) string {
	if p.opts.BaseURL != "" {
		return p.href(name)
	}
	return "urn:carrierwatch:" + name
}

var atomTitle = map[string]string{
	"ja": "多要素認証 (サインイン) に関するお知らせ",
	"en": "Notices about multi-factor sign-in",
}

// entryTitle is an entry's title in lang: status, carrier and that
// multi-factor sign-in is affected.
func entryTitle(lang string, v *incidentView) string {
	status := map[string]map[string]string{
		"ja": {StatusOngoing: "【障害発生中】", StatusPartlyRecovered: "【一部回復】", StatusRecovered: "【復旧】"},
		"en": {StatusOngoing: "[Ongoing] ", StatusPartlyRecovered: "[Partly recovered] ", StatusRecovered: "[Recovered] "},
	}[lang][v.Status]
	if lang == "ja" {
		if v.AllPhones {
			return status + v.CarrierName + " の障害による多要素認証 (サインイン) への影響"
		}
		return status + v.CarrierName + " の通信障害による多要素認証 (サインイン) への影響"
	}
	return status + v.CarrierName + " outage: multi-factor sign-in affected"
}

func entrySummary(lang string, v *incidentView) string {
	var b bytes.Buffer
	if lang == "ja" {
		if v.AllPhones {
			fmt.Fprintf(&b, "%s の障害で、お使いの携帯電話会社にかかわらず、サインイン時の SMS 認証コードや音声通話が届かない場合があります。", v.CarrierName)
		} else {
			fmt.Fprintf(&b, "%s の通信障害で、多要素認証の SMS や音声通話が届かないことがあります。", v.CarrierName)
		}
		if v.Regional && len(v.Areas) > 0 {
			fmt.Fprintf(&b, "対象地域: %s。", joinList(v.Areas, "、"))
		}
		switch v.Status {
		case StatusRecovered:
			b.WriteString("障害は復旧しました。認証アプリかパスキーを今のうちに登録してください。")
		case StatusPartlyRecovered:
			b.WriteString("一部回復していますが、まだ復旧していません。")
		default:
			b.WriteString("別の方法でのサインイン、またはお問い合わせフォームでの連絡をお願いします。")
		}
		return b.String()
	}
	if v.AllPhones {
		fmt.Fprintf(&b, "Because of the %s outage, MFA text messages and calls may not arrive, whatever your mobile carrier.", v.CarrierName)
	} else {
		fmt.Fprintf(&b, "Because of the %s outage, MFA text messages and calls may not arrive.", v.CarrierName)
	}
	if v.Regional && len(v.Areas) > 0 {
		fmt.Fprintf(&b, " Areas: %s.", joinList(v.Areas, ", "))
	}
	switch v.Status {
	case StatusRecovered:
		b.WriteString(" The outage is over. Register an authenticator app or passkey now.")
	case StatusPartlyRecovered:
		b.WriteString(" Service is partly recovered, not yet fully.")
	default:
		b.WriteString(" Sign in another way, or contact support through the form.")
	}
	return b.String()
}

func joinList(s []string, sep string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(x)
	}
	return b.String()
}

// atom renders the feed of the listed notices: Japanese entries linking
// the Japanese pages, each with its English page as an alternate.
func (p *Publisher) atom(notices []Notice) ([]byte, error) {
	lang := Languages[0]
	f := atomFeed{
		Lang: lang, ID: p.atomID(AtomFile), Title: atomTitle[lang],
		Author: atomPerson{Name: p.opts.Author},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: p.href(AtomFile)},
			{Rel: "alternate", Type: "text/html", HrefLang: lang, Href: p.href(IndexFile(lang))},
			{Rel: "alternate", Type: "text/html", HrefLang: other(lang), Href: p.href(IndexFile(other(lang)))},
		},
	}
	var updated time.Time
	for _, n := range notices {
		v := p.view(lang, n)
		if v.UpdatedAt.After(updated) {
			updated = v.UpdatedAt
		}
		f.Entries = append(f.Entries, atomEntry{
			ID:        p.atomID(IncidentFile(v.ID, lang)),
			Title:     entryTitle(lang, v),
			Updated:   atomTime(v.UpdatedAt),
			Published: atomTime(v.DetectedAt),
			Author:    atomPerson{Name: p.opts.Author},
			Links: []atomLink{
				{Rel: "alternate", Type: "text/html", HrefLang: lang, Href: p.href(IncidentFile(v.ID, lang))},
				{Rel: "alternate", Type: "text/html", HrefLang: other(lang), Href: p.href(IncidentFile(v.ID, other(lang)))},
			},
			Summary: atomText{Type: "text", Text: entrySummary(lang, v)},
		})
	}
	if updated.IsZero() {
		// No incident: a fixed date, so that the file does not change on
		// every cycle.
		updated = time.Date(2022, 7, 2, 0, 0, 0, 0, time.UTC)
	}
	f.Updated = atomTime(updated)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("publish: atom feed: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func atomTime(t time.Time) string {
	if t.IsZero() {
		t = time.Date(2022, 7, 2, 0, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format(time.RFC3339)
}
