package graphtest

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake's fixed identities. A client authenticates as ClientID in
// TenantID with the Server's secret (DefaultSecret unless SetSecret
// changed it) or a certificate assertion, and receives AccessToken.
const (
	TenantID      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	ClientID      = "1e5a3c4d-9b7a-4c2e-8f11-0c3b5d7e9a21"
	DefaultSecret = "s3cr3t~value-not-for-logs"
	AccessToken   = "eyJ0eXAiOiJKV1QifQ.fake-access-token"
)

// Kinds of Graph requests, as counted by Stats and named by the switches.
const (
	KindDelta        = "delta"        // GET /v1.0/users/delta
	KindReport       = "report"       // GET …/userRegistrationDetails
	KindBatch        = "batch"        // POST /v1.0/$batch
	KindPhoneMethods = "phoneMethods" // GET /v1.0/users/{id}/authentication/phoneMethods
)

// Default page sizes of users/delta and of the methods report.
const (
	DefaultDeltaPageSize  = 100
	DefaultReportPageSize = 1000
)

// userSelect is what the first delta request must $select (the fields the
// provider maps); a request without one of them is answered 400.
var userSelect = []string{"id", "userPrincipalName", "displayName", "mail", "otherMails", "preferredLanguage", "accountEnabled"}

type entry struct {
	user    User
	version int
	deleted bool
}

// Server is the fake identity platform and Graph. Its methods are safe for
// concurrent use; switches take effect from the next request.
type Server struct {
	// URL is the server's base URL (https://127.0.0.1:port): both the
	// authority host and the Graph endpoint.
	URL string

	srv *httptest.Server

	mu             sync.Mutex
	secret         string // "" accepts a client assertion (certificate) only
	latency        time.Duration
	deltaPageSize  int
	reportPageSize int
	limits         bool // enforce Microsoft's documented limits with 429s
	unlicensed     bool // no Entra ID P1/P2: the report answers 403
	unlicensedAt   int  // the report request (from 1) answered 403 once, as Graph sometimes does

	entries  []*entry
	index    map[string]*entry
	reg      []Registration
	phones   map[string][]Phone
	emails   map[string][]Email
	version  int
	rnd      *rand.Rand
	failAt   map[string]int    // kind → the request number answered 500
	itemCode map[string]int    // user id → fixed batch item status
	kindCode map[string]int    // kind + " " + user id → fixed status of that read only
	throttle map[string]int    // user id → batch item 429s still to give
	stale    int               // status for any $deltatoken: 400 or 410; 0 = accept
	refuse   map[string]int    // kind → requests still to answer 429 (Retry-After: 1)
	deny     map[string]int    // kind → status (401, 403) answered to every request
	gzipSeen bool              // a request body came gzip-compressed
	rawIDs   map[string]string // user id → escaped form seen in a batch url

	// counters
	requests     map[string]int // kind → HTTP requests
	items        int            // batch items
	itemAttempts map[string]int // user id → batch items for it
	rejected     int            // requests or items refused by the limits
	tokens       int
	assertions   int // token requests authenticated with a certificate

	// limits state
	reportStarts []time.Time
	units        float64
	unitsAt      time.Time
	globalStarts []time.Time

	mail mailState // Exchange tokens and sendMail, see mail.go
}

const (
	graphPath   = "/v1.0"
	phoneSuffix = "/authentication/phoneMethods"
)

// New starts a Server over TLS serving tenant (which it copies) and closes
// it when tb ends. Users of tenant start at delta version 1.
func New(tb testing.TB, tenant Tenant) *Server {
	tb.Helper()
	f := &Server{
		secret:         DefaultSecret,
		deltaPageSize:  DefaultDeltaPageSize,
		reportPageSize: DefaultReportPageSize,
		index:          map[string]*entry{},
		phones:         map[string][]Phone{},
		emails:         map[string][]Email{},
		rnd:            rand.New(rand.NewPCG(1, 2)),
		failAt:         map[string]int{},
		itemCode:       map[string]int{},
		kindCode:       map[string]int{},
		throttle:       map[string]int{},
		refuse:         map[string]int{},
		deny:           map[string]int{},
		rawIDs:         map[string]string{},
		requests:       map[string]int{},
		itemAttempts:   map[string]int{},
		units:          8000,
	}
	f.version = 1
	for _, u := range tenant.Users {
		e := &entry{user: u, version: f.version}
		f.entries = append(f.entries, e)
		f.index[u.ID] = e
	}
	f.reg = slices.Clone(tenant.UserRegistrationDetails)
	for id, p := range tenant.PhoneMethods {
		f.phones[id] = p
	}
	for id, e := range tenant.EmailMethods {
		f.emails[id] = e
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // client hang-ups at Close
	f.srv.StartTLS()
	f.URL = f.srv.URL
	tb.Cleanup(f.srv.Close)
	return f
}

// Close shuts the server down; New's cleanup does it too.
func (f *Server) Close() { f.srv.Close() }

// Client returns an HTTP client that trusts the server's certificate.
func (f *Server) Client() *http.Client { return f.srv.Client() }

// Certificate returns the server's TLS certificate (for 127.0.0.1 and
// example.com).
func (f *Server) Certificate() *x509.Certificate { return f.srv.Certificate() }

// CertificatePEM returns Certificate PEM-encoded, as a trust file such as
// SSL_CERT_FILE wants it.
func (f *Server) CertificatePEM() []byte {
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	return b.Bytes()
}

// --- switches ---

// SetSecret sets the client secret the token endpoint accepts; "" accepts
// only a certificate assertion.
func (f *Server) SetSecret(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = secret
}

// Secret returns the client secret the token endpoint accepts.
func (f *Server) Secret() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secret
}

// SetPageSizes sets how many users a delta page and how many rows a report
// page hold; 0 keeps the current size.
func (f *Server) SetPageSizes(delta, report int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if delta > 0 {
		f.deltaPageSize = delta
	}
	if report > 0 {
		f.reportPageSize = report
	}
}

// SetLatency delays every Graph request (not the token endpoint) by d.
func (f *Server) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetLimits turns on or off Microsoft's documented throttling limits
// (130,000 requests per 10 s per app; 5 report requests per 10 s; 8,000
// resource units per 10 s for directory reads), answered with 429s.
func (f *Server) SetLimits(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = on
}

// FailRequest makes the n-th request (from 1) of kind answer 500.
func (f *Server) FailRequest(kind string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt[kind] = n
}

// SetItemStatus makes every phoneMethods read for userID (a $batch item or
// a direct request) answer status with Graph's error body for it.
func (f *Server) SetItemStatus(userID string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemCode[userID] = status
}

// ThrottleItem makes the next n $batch items for userID answer 429 with
// Retry-After: 1.
func (f *Server) ThrottleItem(userID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[userID] = n
}

// RefuseRequests makes the next n requests of kind answer 429 with
// Retry-After: 1.
func (f *Server) RefuseRequests(kind string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse[kind] = n
}

// DenyRequests makes every request of kind answer status (401 or 403,
// Authorization_RequestDenied); 0 stops it.
func (f *Server) DenyRequests(kind string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[kind] = status
}

// SetStaleDeltaTokens makes every request with a $deltatoken answer status
// (400 or 410, syncStateNotFound); 0 accepts them again.
func (f *Server) SetStaleDeltaTokens(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stale = status
}

// --- changes between syncs ---

// UpdateUser changes the user with id in place; the next delta round
// returns it.
func (f *Server) UpdateUser(id string, change func(*User)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.index[id]
	change(&e.user)
	f.version++
	e.version = f.version
}

// DeleteUser removes the user with id, its report row and its phones; the
// next delta round returns it as @removed.
func (f *Server) DeleteUser(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.index[id]
	e.deleted = true
	f.version++
	e.version = f.version
	for i, r := range f.reg {
		if r.ID == id {
			f.reg = append(f.reg[:i], f.reg[i+1:]...)
			break
		}
	}
	delete(f.phones, id)
	delete(f.emails, id)
}

// AddUser adds a user with its report row and phones (none when empty).
func (f *Server) AddUser(u User, r Registration, phones []Phone) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	e := &entry{user: u, version: f.version}
	f.entries = append(f.entries, e)
	f.index[u.ID] = e
	f.reg = append(f.reg, r)
	if len(phones) > 0 {
		f.phones[u.ID] = phones
	}
}

// --- counters ---

// Stats is what the server saw so far.
type Stats struct {
	Requests     map[string]int    // kind → Graph HTTP requests, refused ones included
	Items        int               // $batch items
	ItemAttempts map[string]int    // user id → phoneMethods reads for it (items and requests)
	Rejected     int               // requests and items refused by SetLimits
	Tokens       int               // access tokens issued
	Assertions   int               // token requests authenticated with a certificate
	GzipSeen     bool              // a request body came gzip-compressed
	BatchURLIDs  map[string]string // user id → its form in a $batch item URL
}

// Stats returns a copy of the counters.
func (f *Server) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{
		Requests: maps.Clone(f.requests), Items: f.items, ItemAttempts: maps.Clone(f.itemAttempts),
		Rejected: f.rejected, Tokens: f.tokens, Assertions: f.assertions, GzipSeen: f.gzipSeen,
		BatchURLIDs: maps.Clone(f.rawIDs),
	}
}

// Count returns how many Graph requests of kind the server received.
func (f *Server) Count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[kind]
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// --- HTTP ---

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		f.openIDConfiguration(w, r)
		return
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		f.tokenEndpoint(w, r)
		return
	case !strings.HasPrefix(p, graphPath+"/"):
		graphError(w, http.StatusNotFound, "UnknownPath", "no such path: "+p, "")
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+AccessToken {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.", "")
		return
	}
	if f.serveMail(w, r) {
		return
	}
	f.mu.Lock()
	latency := f.latency
	f.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	kind := ""
	rest := strings.TrimPrefix(p, graphPath)
	switch {
	case r.Method == http.MethodGet && (rest == "/users/delta" || rest == "/users/delta()"):
		kind = "delta"
	case r.Method == http.MethodGet && rest == "/reports/authenticationMethods/userRegistrationDetails":
		kind = "report"
	case r.Method == http.MethodPost && rest == "/$batch":
		kind = "batch"
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/users/"):
		var ok bool
		if _, kind, ok = userAuthKind(rest); !ok {
			graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported request: "+r.Method+" "+rest, "")
			return
		}
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported request: "+r.Method+" "+rest, "")
		return
	}

	f.mu.Lock()
	f.requests[kind]++
	n := f.requests[kind]
	fail := f.failAt[kind] == n
	deny := f.deny[kind]
	unlicensed := kind == KindReport && (f.unlicensed || f.unlicensedAt == n)
	wait := f.admit(kind, 1)
	if f.refuse[kind] > 0 {
		f.refuse[kind]--
		wait = time.Second
	}
	f.mu.Unlock()
	if wait > 0 {
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.", retrySeconds(wait))
		return
	}
	if deny != 0 {
		graphError(w, deny, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "")
		return
	}
	if unlicensed {
		graphError(w, http.StatusForbidden, UnlicensedCode, UnlicensedMessage, "")
		return
	}
	if fail {
		graphError(w, http.StatusInternalServerError, "generalException", "General exception while processing.", "")
		return
	}
	switch kind {
	case "delta":
		f.delta(w, r)
	case "report":
		f.report(w, r)
	case "batch":
		f.batch(w, r)
	case KindPhoneMethods, KindMethods, KindEmailMethods:
		raw, _, _ := userAuthKind(rest)
		id, _ := url.PathUnescape(raw)
		status, body := f.authItem(kind, id)
		writeJSON(w, status, body)
	}
}

// admit applies the documented limits (when on) to one request of kind;
// it returns how long to wait, or 0 when admitted. Called with f.mu held.
func (f *Server) admit(kind string, cost int) time.Duration {
	if !f.limits {
		return 0
	}
	now := time.Now()
	// Global: 130,000 requests per 10 s per app.
	if w := slidingWindow(&f.globalStarts, now, 130000, 10*time.Second); w > 0 {
		f.rejected++
		return w
	}
	switch kind {
	case "report":
		// Identity and access reports: 5 requests per 10 s per app per tenant.
		if w := slidingWindow(&f.reportStarts, now, 5, 10*time.Second); w > 0 {
			f.rejected++
			return w
		}
	case "delta", "phoneMethods", "item", KindMethods, KindEmailMethods:
		// Identity and access, tenant over 500 users: a token bucket of
		// 8,000 resource units per 10 s.
		if !f.unitsAt.IsZero() {
			f.units = math.Min(8000, f.units+now.Sub(f.unitsAt).Seconds()*800)
		}
		f.unitsAt = now
		if f.units < float64(cost) {
			f.rejected++
			return time.Duration((float64(cost) - f.units) / 800 * float64(time.Second))
		}
		f.units -= float64(cost)
	}
	return 0
}

func slidingWindow(starts *[]time.Time, now time.Time, n int, window time.Duration) time.Duration {
	s := *starts
	for len(s) > 0 && now.Sub(s[0]) >= window {
		s = s[1:]
	}
	if len(s) >= n {
		*starts = s
		return window - now.Sub(s[0])
	}
	*starts = append(s, now)
	return 0
}

func retrySeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

func (f *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	base := f.URL + "/" + TenantID
	writeJSON(w, 200, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              f.URL + "/" + TenantID + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     f.URL + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid"},
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "AS",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
		"rbac_url":                              "https://pas.windows.net",
	})
}

func (f *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if !strings.Contains(r.URL.Path, "/"+TenantID+"/") {
		tokenError(w, "invalid_tenant", "AADSTS90002: Tenant not found.")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_id") != ClientID {
		tokenError(w, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
		return
	}
	if scope := strings.Fields(r.PostForm.Get("scope")); !slices.Contains(scope, f.URL+"/.default") && !slices.Contains(scope, ExchangeScope) {
		tokenError(w, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid: "+r.PostForm.Get("scope"))
		return
	}
	f.mu.Lock()
	secret := f.secret
	f.mu.Unlock()
	switch {
	case r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
		strings.Count(r.PostForm.Get("client_assertion"), ".") == 2:
		f.mu.Lock()
		f.assertions++
		f.mu.Unlock()
	case secret != "" && r.PostForm.Get("client_secret") == secret:
	default:
		tokenError(w, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	f.mu.Lock()
	f.tokens++
	token, expiresIn, _ := f.issueToken(r.PostForm.Get("scope"))
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     expiresIn,
		"ext_expires_in": expiresIn,
		"access_token":   token,
	})
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":             code,
		"error_description": desc,
		"error_codes":       []int{7000215},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "0c1e6b0e-4b7e-4d1f-8a6e-5f0e0e0e0e0e",
		"correlation_id":    "7b8c2f4e-3a1d-4c5b-9e6f-1a2b3c4d5e6f",
	})
}

func graphError(w http.ResponseWriter, status int, code, msg, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, status, errorBody(code, msg))
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        "b6d1d6a8-4f0b-4c44-9d57-3d2e7f5d9a10",
			"client-request-id": "b6d1d6a8-4f0b-4c44-9d57-3d2e7f5d9a10",
		},
	}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// --- users delta ---

type removedUser struct {
	ID      string            `json:"id"`
	Removed map[string]string `json:"@removed"`
}

// delta pages are addressed by $skiptoken "<since>.<offset>"; a round ends
// with a deltaLink whose $deltatoken is the version it covers.
func (f *Server) delta(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, offset := 0, 0
	switch {
	case q.Get("$skiptoken") != "":
		a, b, _ := strings.Cut(q.Get("$skiptoken"), ".")
		since, _ = strconv.Atoi(a)
		offset, _ = strconv.Atoi(b)
	case q.Get("$deltatoken") != "":
		f.mu.Lock()
		stale := f.stale
		f.mu.Unlock()
		if stale == http.StatusGone {
			graphError(w, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.", "")
			return
		}
		if stale != 0 {
			graphError(w, http.StatusBadRequest, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.", "")
			return
		}
		since, _ = strconv.Atoi(q.Get("$deltatoken"))
	default:
		sel := strings.Split(q.Get("$select"), ",")
		for _, want := range userSelect {
			if !containsFold(sel, want) {
				graphError(w, http.StatusBadRequest, "BadRequest", "expected $select with "+want, "")
				return
			}
		}
	}
	f.mu.Lock()
	var changed []*entry
	for _, e := range f.entries {
		if since == 0 && !e.deleted || since > 0 && e.version > since {
			changed = append(changed, e)
		}
	}
	version := f.version
	pageSize := f.deltaPageSize
	var value []any
	end := min(offset+pageSize, len(changed))
	for _, e := range changed[offset:end] {
		if e.deleted {
			value = append(value, removedUser{ID: e.user.ID, Removed: map[string]string{"reason": "changed"}})
			continue
		}
		u := e.user
		if u.OtherMails == nil {
			u.OtherMails = []string{}
		}
		value = append(value, u)
	}
	f.mu.Unlock()
	if value == nil {
		value = []any{}
	}
	body := map[string]any{
		"@odata.context": f.URL + "/v1.0/$metadata#users(id,userPrincipalName,displayName,mail,otherMails,preferredLanguage,accountEnabled)",
		"value":          value,
	}
	if end < len(changed) {
		body["@odata.nextLink"] = fmt.Sprintf("%s/v1.0/users/delta?$skiptoken=%d.%d", f.URL, since, end)
	} else {
		body["@odata.deltaLink"] = fmt.Sprintf("%s/v1.0/users/delta?$deltatoken=%d", f.URL, version)
	}
	writeJSON(w, 200, body)
}

// --- userRegistrationDetails ---

func (f *Server) report(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	f.mu.Lock()
	end := min(offset+f.reportPageSize, len(f.reg))
	value := append([]Registration{}, f.reg[offset:end]...)
	total := len(f.reg)
	f.mu.Unlock()
	body := map[string]any{
		"@odata.context": f.URL + "/v1.0/$metadata#reports/authenticationMethods/userRegistrationDetails",
		"value":          value,
	}
	if end < total {
		body["@odata.nextLink"] = fmt.Sprintf("%s/v1.0/reports/authenticationMethods/userRegistrationDetails?$skiptoken=%d", f.URL, end)
	}
	writeJSON(w, 200, body)
}

// --- phoneMethods and $batch ---

func (f *Server) phoneItem(id string) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemAttempts[id]++
	if status, body, failed := f.itemFailure(id); failed {
		return status, body
	}
	p := f.phones[id]
	if p == nil {
		p = []Phone{}
	}
	return 200, map[string]any{
		"@odata.context": f.URL + "/v1.0/$metadata#users('" + url.PathEscape(id) + "')/authentication/phoneMethods",
		"value":          p,
	}
}

type batchRequestBody struct {
	Requests []struct {
		ID      string            `json:"id"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"requests"`
}

type batchItem struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

func (f *Server) batch(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid gzip body.", "")
			return
		}
		f.mu.Lock()
		f.gzipSeen = true
		f.mu.Unlock()
		body = zr
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		graphError(w, http.StatusBadRequest, "BadRequest", "Write request id : Invalid Content-Type "+ct, "")
		return
	}
	var req batchRequestBody
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.", "")
		return
	}
	if len(req.Requests) == 0 || len(req.Requests) > 20 {
		graphError(w, http.StatusBadRequest, "BadRequest", "Number of batch requests exceeds 20.", "")
		return
	}
	var out []batchItem
	for _, it := range req.Requests {
		hdr := map[string]string{"Cache-Control": "no-cache", "x-ms-resource-unit": "1", "OData-Version": "4.0",
			"Content-Type": "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"}
		path := it.URL
		raw, itemKind, ok := userAuthKind(path)
		if !ok || it.Method != "GET" {
			out = append(out, batchItem{ID: it.ID, Status: 400, Headers: hdr, Body: errorBody("BadRequest", "Invalid request URL "+path)})
			continue
		}
		id, err := url.PathUnescape(raw)
		if err != nil {
			out = append(out, batchItem{ID: it.ID, Status: 400, Headers: hdr, Body: errorBody("BadRequest", "Invalid request URL "+path)})
			continue
		}
		f.mu.Lock()
		f.items++
		f.rawIDs[id] = raw
		wait := f.admit("item", 1)
		throttled := f.throttle[id] > 0
		if throttled {
			f.throttle[id]--
			f.itemAttempts[id]++
		}
		f.mu.Unlock()
		if wait > 0 || throttled {
			if throttled {
				wait = time.Second
			}
			out = append(out, batchItem{ID: it.ID, Status: 429,
				Headers: map[string]string{"Retry-After": retrySeconds(wait), "Content-Type": "application/json"},
				Body:    errorBody("TooManyRequests", "Too many requests.")})
			continue
		}
		status, b := f.authItem(itemKind, id)
		out = append(out, batchItem{ID: it.ID, Status: status, Headers: hdr, Body: b})
	}
	f.mu.Lock()
	f.rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	_ = json.NewEncoder(w).Encode(map[string]any{"responses": out})
}
