// Package statuspagetest is a fake Atlassian Statuspage: the public JSON
// API's /api/v2/incidents.json and /api/v2/components.json on a loopback
// httptest server, with ETag and If-None-Match (304) as the real pages
// answer, switched between states of a telephony provider's SMS outage
// whose documents are in testdata/ (shaped as the real API's).
//
// It is for tests of the statuspage source (detector) and of the whole
// command. It imports nothing of carrierwatch.
package statuspagetest

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

//go:embed testdata/*.json
var files embed.FS

// States the fake can be in, as named by Set.
const (
	// Operational: every component operational, one old resolved incident.
	Operational = "operational"
	// Outage: SMS at major_outage and an incident investigating it.
	Outage = "outage"
	// Monitoring: SMS degraded, the incident monitoring a fix.
	Monitoring = "monitoring"
	// Resolved: SMS operational, the incident resolved.
	Resolved = "resolved"
	// Unrelated: the customer portal at partial_outage with an incident of
	// its own; SMS and Voice operational.
	Unrelated = "unrelated"
	// Maintenance: SMS under_maintenance with a maintenance incident.
	Maintenance = "maintenance"
)

// Paths of the documents.
const (
	IncidentsPath  = "/api/v2/incidents.json"
	ComponentsPath = "/api/v2/components.json"
)

type doc struct {
	body        []byte
	contentType string
}

// Server is the fake page; URL is its base URL. Its methods are safe for
// concurrent use.
type Server struct {
	URL string

	mu          sync.Mutex
	docs        map[string]doc
	requests    map[string]int
	notModified int
}

// New starts a Server in state Operational, closed when tb ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{docs: map[string]doc{}, requests: map[string]int{}}
	s.Set(tb, Operational)
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Set switches both documents to those of state; it fails tb for an
// unknown state.
func (s *Server) Set(tb testing.TB, state string) {
	tb.Helper()
	inc, err := files.ReadFile("testdata/incidents-" + state + ".json")
	if err != nil {
		tb.Fatalf("statuspagetest: state %q: %v", state, err)
	}
	comp, err := files.ReadFile("testdata/components-" + state + ".json")
	if err != nil {
		tb.Fatalf("statuspagetest: state %q: %v", state, err)
	}
	s.SetDocument(IncidentsPath, inc, "application/json; charset=utf-8")
	s.SetDocument(ComponentsPath, comp, "application/json; charset=utf-8")
}

// Document returns the body of state's document at path (IncidentsPath or
// ComponentsPath), for tests that alter it.
func Document(tb testing.TB, state, path string) []byte {
	tb.Helper()
	name := map[string]string{IncidentsPath: "incidents", ComponentsPath: "components"}[path]
	b, err := files.ReadFile("testdata/" + name + "-" + state + ".json")
	if err != nil {
		tb.Fatalf("statuspagetest: %v", err)
	}
	return b
}

// SetDocument serves body with contentType at path (any path: hostile
// answers too).
func (s *Server) SetDocument(path string, body []byte, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc{body: body, contentType: contentType}
}

// Requests returns how many requests each path received.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.requests)
}

// NotModified returns how many requests were answered 304.
func (s *Server) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notModified
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	d, ok := s.docs[r.URL.Path]
	s.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(d.body)
	etag := fmt.Sprintf(`W/"%s"`, hex.EncodeToString(sum[:8]))
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "max-age=0, private, must-revalidate")
	if r.Header.Get("If-None-Match") == etag {
		s.mu.Lock()
		s.notModified++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", d.contentType)
	_, _ = w.Write(d.body)
}
