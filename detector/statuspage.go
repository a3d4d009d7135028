package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// TypeStatuspage is an Atlassian Statuspage read through its public JSON
// API (/api/v2/incidents.json and /api/v2/components.json under the page's
// base URL): the verdict comes from the statuses the page states, not from
// text rules.
const TypeStatuspage = "statuspage"

// Statuspage documents, relative to the page's base URL.
const (
	statuspageIncidents  = "/api/v2/incidents.json"
	statuspageComponents = "/api/v2/components.json"
)

// Validators are the conditional-GET validators of one document.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// ErrNotStatuspage: a statuspage source answered something that is not
// the Statuspage API's JSON (an HTML page, a login wall, garbage, a
// truncated document).
var ErrNotStatuspage = errors.New("not a Statuspage API document")

// statuspageIncident is an incident of incidents.json (the fields used).
type statuspageIncident struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"` // investigating | identified | monitoring | resolved | postmortem
	Impact     string    `json:"impact"` // none | minor | major | critical | maintenance
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at"`
	Updates    []struct {
		Status    string    `json:"status"`
		Body      string    `json:"body"`
		CreatedAt time.Time `json:"created_at"`
		DisplayAt time.Time `json:"display_at"`
	} `json:"incident_updates"`
	Components []statuspageComponent `json:"components"`
}

// statuspageComponent is a component of components.json, or one an
// incident names.
type statuspageComponent struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"` // operational | degraded_performance | partial_outage | major_outage | under_maintenance
	UpdatedAt time.Time `json:"updated_at"`
	Group     bool      `json:"group"`
}

type statuspagePage struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// pollStatuspage reads both documents of a statuspage source with
// conditional GETs (incidents.json's validators in st.ETag and
// st.LastModified, components.json's in st.Second). When both
// answer 304 the poll is NotModified; when only one changed, the other is
// fetched again in full, since the source's one notice is made from both.
func (f *Fetcher) pollStatuspage(ctx context.Context, src Source, st State) (Result, State, error) {
	var res Result
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	base := strings.TrimRight(src.URL, "/")
	paths := []string{statuspageIncidents, statuspageComponents}
	validators := []Validators{{ETag: st.ETag, LastModified: st.LastModified}, st.Second}
	bodies := make([][]byte, len(paths))
	changed := false
	for i, p := range paths {
		body, v, status, err := f.getDocument(rctx, src, base+p, validators[i])
		res.Status = status
		res.Bytes += int64(len(body))
		if err != nil {
			return res, st, err
		}
		validators[i], bodies[i] = v, body
		changed = changed || body != nil
	}
	if !changed {
		res.NotModified = true
		st.ETag, st.LastModified, st.Second = validators[0].ETag, validators[0].LastModified, validators[1]
		return res, st, nil
	}
	for i, p := range paths {
		if bodies[i] != nil {
			continue
		}
		body, v, status, err := f.getDocument(rctx, src, base+p, Validators{})
		res.Status = status
		res.Bytes += int64(len(body))
		if err != nil {
			return res, st, err
		}
		if body == nil {
			return res, st, fmt.Errorf("source %s: %s answered 304 to an unconditional GET", src.ID, base+p)
		}
		validators[i], bodies[i] = v, body
	}
	n, err := parseStatuspage(src, bodies[0], bodies[1])
	if err != nil {
		return res, st, fmt.Errorf("source %s: %w", src.ID, err)
	}
	res.Notices = []Notice{n}
	st.ETag, st.LastModified, st.Second = validators[0].ETag, validators[0].LastModified, validators[1]
	return res, st, nil
}

// getDocument GETs one document: body nil on 304; errors as Poll's
// (StatusError with Retry-After, ErrTooLarge).
func (f *Fetcher) getDocument(ctx context.Context, src Source, url string, v Validators) ([]byte, Validators, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, v, 0, fmt.Errorf("source %s: %w: %w", src.ID, ErrSource, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "application/json")
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, v, 0, fmt.Errorf("source %s: fetch: %w", src.ID, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		if e := resp.Header.Get("ETag"); e != "" {
			v.ETag = e
		}
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			v.LastModified = lm
		}
		return nil, v, resp.StatusCode, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		se := &StatusError{Code: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), f.now())
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, v, resp.StatusCode, fmt.Errorf("source %s: fetch %s: %w", src.ID, url, se)
	}
	body, err := f.readBody(resp)
	if err != nil {
		return nil, v, resp.StatusCode, fmt.Errorf("source %s: read %s: %w", src.ID, url, err)
	}
	if body == nil {
		body = []byte{}
	}
	return body, Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}, resp.StatusCode, nil
}

// decodeStrict decodes one JSON document that must hold the array key.
func decodeStrict(name string, body []byte, key string, v any) error {
	var probe map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&probe); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotStatuspage, name, err)
	}
	raw, ok := probe[key]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return fmt.Errorf("%w: %s has no %q list", ErrNotStatuspage, name, key)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotStatuspage, name, err)
	}
	return nil
}

// Statuspage statuses and what they mean here.
var (
	incidentVerdicts = map[string]Verdict{
		"investigating": VerdictOutage,
		"identified":    VerdictOutage,
		"monitoring":    VerdictNotResolved,
		"resolved":      VerdictResolved,
		"postmortem":    VerdictResolved,
	}
	componentDown = map[string]bool{"partial_outage": true, "major_outage": true}
)

// parseStatuspage makes the source's one notice from incidents.json and
// components.json: the state of the watched components (Source.Components;
// none means the whole page) stated by the page, with its verdict set:
//
//   - outage: a watched component at partial_outage or major_outage, or an
//     incident affecting one that is investigating or identified;
//   - not-resolved: no such thing, but such an incident is monitoring;
//   - resolved: everything else (all operational, incidents resolved).
//
// Incidents of impact "maintenance", and, when components are watched,
// incidents that name none of them, do not count. degraded_performance and
// under_maintenance are not outages. The notice's key is the same for every
// state (one thread per page); its text names the active incidents and
// components with their last change, so a new state, or the same state
// again later, is a new notice. A watched component name the page does not
// have is an error (a typo must not watch nothing).
func parseStatuspage(src Source, incidentsJSON, componentsJSON []byte) (Notice, error) {
	var inc struct {
		Page      statuspagePage       `json:"page"`
		Incidents []statuspageIncident `json:"incidents"`
	}
	if err := decodeStrict("incidents.json", incidentsJSON, "incidents", &inc); err != nil {
		return Notice{}, err
	}
	var comp struct {
		Page       statuspagePage        `json:"page"`
		Components []statuspageComponent `json:"components"`
	}
	if err := decodeStrict("components.json", componentsJSON, "components", &comp); err != nil {
		return Notice{}, err
	}

	watched := func(name string) bool {
		if len(src.Components) == 0 {
			return true
		}
		return slices.ContainsFunc(src.Components, func(w string) bool { return strings.EqualFold(strings.TrimSpace(w), strings.TrimSpace(name)) })
	}
	var missing []string
	for _, w := range src.Components {
		if !slices.ContainsFunc(comp.Components, func(c statuspageComponent) bool {
			return strings.EqualFold(strings.TrimSpace(w), strings.TrimSpace(c.Name))
		}) {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	if len(missing) > 0 {
		var names []string
		for _, c := range comp.Components {
			names = append(names, c.Name)
		}
		return Notice{}, fmt.Errorf("%w: components %s not on the page (it has: %s)", ErrSource, strings.Join(missing, ", "), strings.Join(names, ", "))
	}

	pageName := inc.Page.Name
	if pageName == "" {
		pageName = comp.Page.Name
	}
	verdict, rule := VerdictResolved, "statuspage: all watched components operational, no open incident"
	var lines []string
	var last time.Time
	link := src.URL
	title := ""

	var down []statuspageComponent
	for _, c := range comp.Components {
		if watched(c.Name) && componentDown[c.Status] {
			down = append(down, c)
		}
	}
	sort.Slice(down, func(i, j int) bool { return down[i].Name < down[j].Name })
	for _, c := range down {
		lines = append(lines, fmt.Sprintf("component %s: %s since %s", c.Name, c.Status, c.UpdatedAt.UTC().Format(time.RFC3339)))
		last = later(last, c.UpdatedAt)
	}
	if len(down) > 0 {
		verdict, rule = VerdictOutage, "statuspage: component "+down[0].Name+" "+down[0].Status
		title = fmt.Sprintf("%s: %s %s", pageName, down[0].Name, strings.ReplaceAll(down[0].Status, "_", " "))
	}

	var active []statuspageIncident
	for _, in := range inc.Incidents {
		if in.Impact == "maintenance" {
			continue
		}
		v, known := incidentVerdicts[in.Status]
		if !known || v == VerdictResolved {
			continue
		}
		if len(src.Components) > 0 && !slices.ContainsFunc(in.Components, func(c statuspageComponent) bool { return watched(c.Name) }) {
			continue
		}
		active = append(active, in)
	}
	sort.Slice(active, func(i, j int) bool { return active[i].ID < active[j].ID })
	var chosen *statuspageIncident
	for _, in := range active {
		at := in.UpdatedAt
		body := ""
		if len(in.Updates) > 0 {
			u := in.Updates[0] // newest first
			body = u.Body
			at = later(at, later(u.CreatedAt, u.DisplayAt))
		}
		lines = append(lines, fmt.Sprintf("incident %s (%s, %s at %s): %s", in.Name, in.ID, in.Status, at.UTC().Format(time.RFC3339), body))
		last = later(last, at)
		v := incidentVerdicts[in.Status]
		switch {
		case v == VerdictOutage && verdict != VerdictOutage:
			verdict, rule = VerdictOutage, "statuspage: incident "+in.Status
		case v == VerdictNotResolved && verdict == VerdictResolved:
			verdict, rule = VerdictNotResolved, "statuspage: incident monitoring"
		}
		if chosen == nil || v == VerdictOutage && incidentVerdicts[chosen.Status] != VerdictOutage {
			chosen = &in
		}
	}
	// The title: an outage incident's name, else the component down, else
	// the incident being monitored.
	if chosen != nil && (incidentVerdicts[chosen.Status] == VerdictOutage || len(down) == 0) {
		title = chosen.Name
		// The incident's page on the status page itself (its shortlink
		// is another site's).
		link = strings.TrimRight(src.URL, "/") + "/incidents/" + chosen.ID
	}
	if verdict == VerdictResolved {
		// The last change that led here: a resolved incident or a
		// component back to operational.
		for _, in := range inc.Incidents {
			if in.Impact != "maintenance" && (len(src.Components) == 0 || slices.ContainsFunc(in.Components, func(c statuspageComponent) bool { return watched(c.Name) })) {
				last = later(last, in.ResolvedAt)
			}
		}
		for _, c := range comp.Components {
			if watched(c.Name) {
				last = later(last, c.UpdatedAt)
			}
		}
		title = pageName + ": all watched components operational"
		lines = append(lines, "no open incident; last change "+last.UTC().Format(time.RFC3339))
	}
	title, text := Normalize(title), Normalize(strings.Join(lines, "\n"))
	n := newNotice("statuspage:"+strings.TrimRight(src.URL, "/"), title, text, link, last)
	n.Verdict, n.Rule = verdict, rule
	return n, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// validateStatuspage checks a statuspage source: a base URL (the API paths
// are added) and component names that are not blank or repeated.
func validateStatuspage(s Source) []error {
	var errs []error
	if s.Selector != "" || s.Items != "" {
		errs = append(errs, errors.New("selector, items: only for type page"))
	}
	if strings.Contains(s.URL, "/api/v2") || strings.HasSuffix(s.URL, ".json") || strings.HasSuffix(s.URL, ".atom") || strings.HasSuffix(s.URL, ".rss") {
		errs = append(errs, fmt.Errorf("url: %q: give the status page's base URL (https://status.example.com), not a document of it", s.URL))
	}
	seen := map[string]bool{}
	for i, c := range s.Components {
		k := strings.ToLower(strings.TrimSpace(c))
		switch {
		case k == "":
			errs = append(errs, fmt.Errorf("components[%d]: empty name", i))
		case seen[k]:
			errs = append(errs, fmt.Errorf("components[%d]: %q is listed twice", i, c))
		}
		seen[k] = true
	}
	return errs
}
