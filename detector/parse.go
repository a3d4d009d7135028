package detector

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/mmcdole/gofeed"
)

// Errors callers may test with errors.Is.
var (
	// ErrNotFeed: a feed source returned something that is not a feed
	// (an HTML page, garbage, broken XML).
	ErrNotFeed = errors.New("not a feed")
	// ErrNoSelection: a page's selector matched nothing (the page was
	// redesigned, or an error page was served).
	ErrNoSelection = errors.New("selector matched nothing")
	// ErrSource: the Source itself is unusable (unknown type, bad selector).
	ErrSource = errors.New("invalid source")
)

// MaxItems is the most notices Parse takes from one index page; further
// items are ignored.
const MaxItems = 500

// itemTitleRunes is how much of an index item's text stands in for a
// missing title.
const itemTitleRunes = 120

// Parse turns a fetched body into notices, without HTTP. contentType is the
// Content-Type header ("" when unknown, as for a file); it and the document
// decide the charset. Errors name the source and wrap ErrNotFeed,
// ErrNoSelection or ErrSource. Items with neither title nor text are
// skipped; a feed or index page with no notices returns none and no error.
func Parse(src Source, body []byte, contentType string) ([]Notice, error) {
	var (
		ns  []Notice
		err error
	)
	switch src.Type {
	case TypeFeed:
		ns, err = parseFeed(src, toUTF8(body, contentType, true), contentType)
	case TypePage:
		ns, err = parsePage(src, toUTF8(body, contentType, false))
	case TypeStatuspage:
		err = fmt.Errorf("%w: a statuspage source is read from two documents; use Fetcher.Poll", ErrSource)
	default:
		err = fmt.Errorf("%w: type %q is neither %q nor %q", ErrSource, src.Type, TypeFeed, TypePage)
	}
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.ID, err)
	}
	uniqueKeys(ns)
	return ns, nil
}

func parseFeed(src Source, body []byte, contentType string) (ns []Notice, err error) {
	defer func() {
		// gofeed parses hostile input; a bug there must not take the daemon down.
		if p := recover(); p != nil {
			ns, err = nil, fmt.Errorf("%w: parser panic: %v", ErrNotFeed, p)
		}
	}()
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFeed, notFeedDetail(body, contentType, err))
	}
	base := src.URL
	if base == "" {
		base = feed.Link
	}
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		title := htmlText(it.Title)
		text := htmlText(it.Description)
		if text == "" {
			text = htmlText(it.Content)
		}
		link := it.Link
		if link == "" && len(it.Links) > 0 {
			link = it.Links[0]
		}
		link = resolveLink(base, link)
		key := strings.TrimSpace(it.GUID)
		if key == "" {
			key = link
		}
		if key == "" {
			key = textKey(title)
		}
		var published time.Time
		switch {
		case it.PublishedParsed != nil:
			published = *it.PublishedParsed
		case it.UpdatedParsed != nil:
			published = *it.UpdatedParsed
		}
		if title == "" && text == "" {
			continue
		}
		ns = append(ns, newNotice(key, title, text, link, published))
	}
	return ns, nil
}

// notFeedDetail says what came instead of a feed, for the admin.
func notFeedDetail(body []byte, contentType string, err error) string {
	start := bytes.ToLower(bytes.TrimSpace(body[:min(len(body), 512)]))
	switch {
	case bytes.HasPrefix(start, []byte("<!doctype html")), bytes.HasPrefix(start, []byte("<html")),
		bytes.Contains(start, []byte("<html")):
		return fmt.Sprintf("got an HTML page (content type %q)", contentType)
	case len(body) == 0:
		return "empty body"
	case !utf8.Valid(body) || bytes.ContainsRune(body, utf8.RuneError) && !bytes.ContainsAny(start, "<{"):
		return fmt.Sprintf("got binary data (content type %q): %v", contentType, err)
	}
	return fmt.Sprintf("%v (content type %q)", err, contentType)
}

func parsePage(src Source, body []byte) ([]Notice, error) {
	for name, sel := range map[string]string{"selector": src.Selector, "items": src.Items} {
		if sel == "" {
			continue
		}
		if _, err := cascadia.ParseGroup(sel); err != nil {
			return nil, fmt.Errorf("%w: %s %q: %v", ErrSource, name, sel, err)
		}
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse html: %w", err)
	}
	scope := doc.Find("body")
	if src.Selector != "" {
		scope = doc.Find(src.Selector)
	}
	if scope.Length() == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoSelection, src.Selector)
	}
	if src.Items != "" {
		// An index whose items selector matches nothing has been
		// redesigned: say so rather than fall silent.
		if scope.Find(src.Items).Length() == 0 {
			return nil, fmt.Errorf("%w: items %q", ErrNoSelection, src.Items)
		}
		return pageItems(src, scope), nil
	}
	text := nodesText(scope.Nodes...)
	title := ""
	if h := scope.Find("h1, h2, h3").First(); h.Length() > 0 {
		title = nodesText(h.Nodes...)
	}
	if title == "" {
		title = nodesText(doc.Find("title").First().Nodes...)
	}
	if title == "" && text == "" {
		return nil, nil
	}
	key := src.URL
	if key == "" {
		key = src.ID
	}
	return []Notice{newNotice(key, title, text, src.URL, time.Time{})}, nil
}

func pageItems(src Source, scope *goquery.Selection) []Notice {
	var ns []Notice
	scope.Find(src.Items).EachWithBreak(func(_ int, item *goquery.Selection) bool {
		if len(ns) >= MaxItems {
			return false
		}
		text := nodesTextMax(maxItemExtractBytes, item.Nodes...)
		if text == "" {
			return true
		}
		a := item.Filter("a[href]")
		if a.Length() == 0 {
			a = item.Find("a[href]").First()
		}
		href, _ := a.Attr("href")
		link := resolveLink(src.URL, href)
		// Breadcrumbs, tabs, pagers and banners have no link of the
		// carrier's own to a notice: they are not notices.
		if link == "" || !SameSite(src.URL, link) {
			return true
		}
		title := nodesText(item.Find("h1, h2, h3, h4, h5, h6").First().Nodes...)
		if title == "" {
			title = nodesText(a.Nodes...)
		}
		if title == "" {
			title = normalize(text, itemTitleRunes)
		}
		// The date the index lists beside the item: a <time datetime>,
		// else the first date in the item's text.
		published := time.Time{}
		if dt, ok := item.Find("time[datetime]").First().Attr("datetime"); ok {
			published = ListedDate(dt)
		}
		if published.IsZero() {
			published = ListedDate(text)
		}
		ns = append(ns, newNotice(link, title, text, link, published))
		return true
	})
	return ns
}
