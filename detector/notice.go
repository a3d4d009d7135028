package detector

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/andybalholm/cascadia"
)

// Source types.
const (
	TypeFeed = "feed" // RSS 0.9x/1.0/2.0, Atom or JSON Feed
	TypePage = "page" // an HTML page watched for changes
)

// Source is one place a carrier publishes notices.
type Source struct {
	// ID is stable across restarts, e.g. "kddi/0"; it names the source in
	// errors and logs.
	ID string
	// Type is TypeFeed or TypePage.
	Type string
	// URL is the absolute http(s) URL fetched; it also resolves relative
	// links.
	URL string
	// Selector (pages only) is a CSS selector of the notice container;
	// "" means the whole body. Text outside it (headers, ads, timestamps)
	// does not change a notice's Hash.
	Selector string
	// Items (pages only) is a CSS selector, searched inside Selector: when
	// set, each matching element is one notice (its text and its first
	// <a href>), as on an index of notices.
	Items string
	// Components (statuspage only) are the names of the page's components
	// to watch ("SMS", "Voice"); none watches the whole page.
	Components []string
	// MaxAge is how old a dated notice may be and still be acted on
	// (the caller's policy; the detector only carries it). 0: no limit.
	MaxAge time.Duration
}

// Validate reports every problem with s at once.
func (s Source) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("id: empty"))
	}
	switch s.Type {
	case TypeFeed:
		if s.Selector != "" || s.Items != "" {
			errs = append(errs, errors.New("selector, items: only for type page"))
		}
	case TypeStatuspage:
		errs = append(errs, validateStatuspage(s)...)
	case TypePage:
		for name, sel := range map[string]string{"selector": s.Selector, "items": s.Items} {
			if sel == "" {
				continue
			}
			if _, err := cascadia.ParseGroup(sel); err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid CSS selector %q: %w", name, sel, err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("type: %q is not %q, %q or %q", s.Type, TypeFeed, TypePage, TypeStatuspage))
	}
	u, err := url.Parse(s.URL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		errs = append(errs, fmt.Errorf("url: %q is not an absolute http(s) URL", s.URL))
	}
	return errors.Join(errs...)
}

// Notice is one notice found in a source.
type Notice struct {
	// Key is the notice's identity within its source: a feed item's GUID,
	// else its link, else "sha256:" and the hash of its title; for a page
	// the page URL, for an item its link, else "sha256:" and the hash of its
	// text. Keys are unique within one Parse result ("#2" is appended to a
	// repeated one). Some feeds churn GUIDs: use Hash for content identity.
	Key string
	// Hash is the hex SHA-256 of Title + "\n" + Text: the content identity.
	// The same notice under a new GUID, or re-sent unchanged, has the same
	// Hash; an in-place edit changes it.
	Hash string
	// Title is normalised text: a feed item's title; a page's first h1–h3
	// inside the selection, else its <title>; an item's first heading, else
	// its first link's text, else the start of its text.
	Title string
	// Text is normalised text, HTML stripped (script, style and the like
	// removed): a feed item's description, else its content; a page's
	// selection; an item's element.
	Text string
	// Link is the notice's absolute URL, if known.
	Link string
	// Published is when the feed says the item was published (else
	// updated); zero if unknown, and always for pages.
	Published time.Time
	// Verdict, when set, is what the source itself states (a statuspage
	// source's incident and component statuses): Rules.ClassifyNotice
	// returns it, with Rule, instead of reading the text. Such a notice
	// covers the whole network of its carrier (national scope).
	Verdict Verdict
	Rule    string
}

// ClassifyText returns the text rules are applied to: Title, a space, Text.
func (n Notice) ClassifyText() string {
	return strings.TrimSpace(n.Title + " " + n.Text)
}

// newNotice fills Hash from the already normalised title and text.
func newNotice(key, title, text, link string, published time.Time) Notice {
	return Notice{
		Key:       key,
		Hash:      contentHash(title, text),
		Title:     title,
		Text:      text,
		Link:      link,
		Published: published,
	}
}

func contentHash(title, text string) string {
	h := sha256.New()
	h.Write([]byte(title))
	h.Write([]byte{'\n'})
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

func textKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// uniqueKeys appends "#2", "#3"… to repeated keys, in order.
func uniqueKeys(ns []Notice) {
	seen := make(map[string]int, len(ns))
	for i := range ns {
		k := ns[i].Key
		seen[k]++
		if c := seen[k]; c > 1 {
			ns[i].Key = fmt.Sprintf("%s#%d", k, c)
		}
	}
}

// resolveLink makes href absolute against base; it returns href unchanged
// when either does not parse, and "" for non-web schemes.
func resolveLink(base, href string) string {
	href = strings.TrimSpace(href)
	if href == "" {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return href
	}
	if b, err := url.Parse(base); err == nil && base != "" {
		u = b.ResolveReference(u)
	}
	switch u.Scheme {
	case "http", "https", "":
		return u.String()
	}
	return ""
}
