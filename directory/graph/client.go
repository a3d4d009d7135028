package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

// Client reads a tenant's users, methods and phones through Microsoft Graph.
// It is safe for concurrent use, but Fetch is meant to run one at a time.
type Client struct {
	cfg       Config
	logger    *slog.Logger
	adapter   *core.GraphRequestAdapterBase
	graphBase string // GraphEndpoint + "/v1.0"
	users     *users.UsersRequestBuilder

	// reportLimit paces the identity-reports API (5 requests per 10 s per
	// app per tenant); itemLimit paces directory reads (resource units:
	// each delta page and each batch item costs one). Nil means no pacing
	// (benchmarks against an unthrottled fake).
	reportLimit *windowLimiter
	itemLimit   *rate.Limiter
	// sleep waits before retrying batch items; tests make it instant.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ directory.Provider = (*Client)(nil)

var registerSerializers sync.Once

// NewClient checks cfg and builds the credential (client secret or
// certificate), the authenticated Graph request adapter and its HTTP
// middleware (retries of 429/503/504 honouring Retry-After, gzip request
// bodies). It makes no request: a wrong secret shows on the first Fetch.
func NewClient(cfg Config, logger *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("graph: config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	registerSerializers.Do(func() {
		// What the SDK's root client registers; we do not import the root
		// package (it compiles every request builder of Graph).
		abs.RegisterDefaultSerializer(func() absSerFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absSerFactory { return textser.NewTextSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absParseFactory { return jsonser.NewJsonParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absParseFactory { return textser.NewTextParseNodeFactory() })
	})

	authority, endpoint := cfg.endpoints()
	base := cfg.HTTPClient
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		base = &http.Client{Transport: t}
	}

	cred, err := newCredential(cfg, authority, base)
	if err != nil {
		return nil, err
	}
	graphHost := hostOf(endpoint)
	authProvider, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		cred, []string{endpoint + "/.default"}, []string{graphHost})
	if err != nil {
		return nil, fmt.Errorf("graph: authentication provider: %w", err)
	}

	opts := core.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}
	// The SDK's default middleware, reordered, plus privateBody: a retried
	// POST ($batch) must resend its body. In the default order the retry
	// handler runs outside compression and resends the uncompressed body
	// under "Content-Encoding: gzip"; and it rewinds the one shared reader
	// while the transport may still be reading it for the previous attempt
	// ("ContentLength=… with Body length 0"). So compression runs first,
	// and every attempt gets a private copy of the body.
	mw := []khttp.Middleware{
		core.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, core.ReplacementPairs),
		khttp.NewCompressionHandler(),
		khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
			MaxRetries:   5,
			DelaySeconds: 2,
			// Without ShouldRetry the handler panics; the status check
			// (429, 503, 504) is the handler's own.
			ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return true },
		}),
		khttp.NewRedirectHandler(),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
		privateBody{},
	}
	parent := base.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, mw...),
		// Redirects are the middleware's business.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
	adapter, err := core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		authProvider, opts, nil, nil, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph: request adapter: %w", err)
	}
	graphBase := endpoint + "/v1.0"
	adapter.SetBaseUrl(graphBase)

	return &Client{
		cfg:         cfg,
		logger:      logger,
		adapter:     adapter,
		graphBase:   graphBase,
		users:       users.NewUsersRequestBuilderInternal(map[string]string{}, adapter),
		reportLimit: newWindowLimiter(reportRequests, reportWindow),
		itemLimit:   rate.NewLimiter(rate.Limit(directoryUnitsPerSecond), directoryUnitsPerSecond),
		sleep:       sleepCtx,
	}, nil
}

// Service limits we stay under (see docs/graph-sync.md).
const (
	// Identity and access reports: 5 requests per 10 s per app per tenant.
	// The margin absorbs network jitter between our clock and theirs.
	reportRequests = 5
	reportWindow   = 10*time.Second + 300*time.Millisecond
	// Identity and access: 8,000 resource units per 10 s per app and
	// tenant (over 500 users; smaller tenants cannot reach their lower
	// quota with one request per user). 700/s with a burst of 700 never
	// spends more than 7,700 in any 10 s.
	directoryUnitsPerSecond = 700
)

func newCredential(cfg Config, authority string, transport *http.Client) (azcore.TokenCredential, error) {
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}},
		Transport: transport,
		Retry:     policy.RetryOptions{MaxRetries: 3},
	}
	if cfg.ClientSecret != "" {
		cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cfg.customAuthority()})
		if err != nil {
			return nil, fmt.Errorf("graph: client secret credential: %w", err)
		}
		return cred, nil
	}
	certs, key, err := azidentity.ParseCertificates(cfg.CertificatePEM, []byte(cfg.CertificatePassword))
	if err != nil {
		return nil, fmt.Errorf("graph: certificate: %w", err)
	}
	cred, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cfg.customAuthority()})
	if err != nil {
		return nil, fmt.Errorf("graph: certificate credential: %w", err)
	}
	return cred, nil
}

// Fetch syncs the directory. With cursor "" (or a cursor Graph no longer
// accepts) it reads every user and returns Full=true; with the deltaLink of
// the previous Fetch it returns only the users changed since (Full=false).
// Methods, phones and reset e-mails are read in full every time
// (AuthFull=true): a newly registered method does not show in the users
// delta. Users and methods are read concurrently; phones and e-mails are
// fetched in $batch requests as soon as the methods report names a user
// with them, or, without the report (Config.Methods), each user's methods
// as the user list pages arrive. Update.Mode and ModeReason say which. Any failure, including a batch
// item that still fails after its retries, returns an error and no Update;
// a 401 or 403 anywhere (a missing permission or consent) fails it with
// ErrPermission, never a Problem.
// Fetch must not be called concurrently with itself.
func (c *Client) Fetch(ctx context.Context, cursor string, progress func(directory.Progress)) (*directory.Update, error) {
	start := time.Now()
	prog := newProgressReporter(progress)
	g, gctx := errgroup.WithContext(ctx)
	var ur usersResult
	var ar authResult
	g.Go(func() error {
		var err error
		ur, err = c.syncUsers(gctx, cursor, prog)
		return err
	})
	g.Go(func() error {
		var err error
		ar, err = c.syncAuth(gctx, prog)
		return err
	})
	if err := g.Wait(); err != nil {
		c.logger.Warn("graph sync failed", "error", err, "elapsed", time.Since(start).Round(time.Millisecond))
		return nil, fmt.Errorf("graph: fetch: %w", err)
	}

	gone := make(map[string]bool, len(ur.removed))
	for _, id := range ur.removed {
		gone[id] = true
	}
	auth := make([]directory.Auth, 0, len(ar.auth))
	for _, a := range ar.auth {
		if !gone[a.UserID] {
			auth = append(auth, a)
		}
	}
	u := &directory.Update{
		Full:     ur.full,
		Users:    ur.users,
		Auth:     auth,
		AuthFull: true,
		Cursor:   ur.deltaLink,
		Problems: append(ur.problems, ar.problems...),

		Mode:       ar.mode,
		ModeReason: ar.reason,
	}
	if !ur.full {
		u.Removed = ur.removed
	}
	c.logger.Info("graph sync done",
		"full", u.Full, "restarted", ur.restarted, "users", len(u.Users), "removed", len(ur.removed),
		"auth", len(u.Auth), "phone_users", ar.phoneUsers, "reset_emails", ar.resetEmails, "problems", len(u.Problems),
		"methods_mode", ar.mode, "methods_mode_reason", ar.reason,
		"elapsed", time.Since(start).Round(time.Millisecond))
	return u, nil
}

// progressReporter serialises progress callbacks from the concurrent stages.
type progressReporter struct {
	mu sync.Mutex
	fn func(directory.Progress)
}

func newProgressReporter(fn func(directory.Progress)) *progressReporter {
	return &progressReporter{fn: fn}
}

func (p *progressReporter) report(stage string, done, total int) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(directory.Progress{Stage: stage, Done: done, Total: total})
}

func hostOf(endpoint string) string {
	h := strings.TrimPrefix(endpoint, "https://")
	if i := strings.IndexAny(h, "/"); i >= 0 {
		h = h[:i]
	}
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.Trim(h, "[]")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maskID hides the local part of an id shaped like an address
// ("j.doe@example.ac.jp" → "j***@example.ac.jp"); GUIDs pass unchanged.
func maskID(id string) string {
	at := strings.LastIndex(id, "@")
	if at < 0 {
		return id
	}
	if at == 0 {
		return "***" + id[at:]
	}
	return id[:1] + "***" + id[at:]
}

// phoneType maps Graph's phoneType to ours.
func phoneType(s string) (carrierwatch.PhoneType, bool) {
	switch s {
	case "mobile":
		return carrierwatch.PhoneMobile, true
	case "alternateMobile":
		return carrierwatch.PhoneAlternateMobile, true
	case "office":
		return carrierwatch.PhoneOffice, true
	}
	return "", false
}

// phoneMethodNames are the methodsRegistered names that mean a phone.
var phoneMethodNames = []string{"mobilePhone", "alternateMobilePhone", "officePhone"}

func hasPhoneMethod(methods []string) bool {
	for _, m := range methods {
		if slices.Contains(phoneMethodNames, m) {
			return true
		}
	}
	return false
}

// errStaleDelta marks a deltaLink Graph no longer accepts.
var errStaleDelta = errors.New("delta link no longer valid")

// ErrPermission marks a Fetch that failed because Graph refused a read with
// 401 or 403: an application permission or its admin consent is missing
// (or was revoked), or the tenant lacks the licence the methods report
// needs. The error's text names what to grant. Such a Fetch returns no
// Update: keeping the last good data beats storing a directory without
// phones, in which the next outage would affect nobody.
var ErrPermission = errors.New("graph permission missing")

// What to grant when a read is refused, per API.
const (
	grantUsers   = "grant User.Read.All and admin consent"
	grantMethods = "grant AuditLog.Read.All and admin consent; the report also needs Entra ID P1 or P2 (without it use directory.graph.methods: auto or authentication_methods)"
	grantPhones  = "grant UserAuthMethod-Phone.Read.All or UserAuthenticationMethod.Read.All and admin consent"
)

// deniedStatus reports whether status is Graph refusing access.
func deniedStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// denied wraps err with ErrPermission and what to grant when it is a 401 or
// 403 answer from Graph; other errors pass unchanged.
func denied(err error, grant string) error {
	if err == nil {
		return nil
	}
	status := 0
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	switch {
	case errors.As(err, &oe):
		status = oe.ResponseStatusCode
	case errors.As(err, &ae):
		status = ae.ResponseStatusCode
	}
	if !deniedStatus(status) {
		return err
	}
	return fmt.Errorf("%w (status %d; %w: %s)", err, status, ErrPermission, grant)
}

// privateBody hands the transport a private copy of the request body on
// every attempt, so that a retry rewinding the shared reader cannot race
// with the transport still writing the previous attempt.
type privateBody struct{}

// Intercept implements khttp.Middleware.
func (privateBody) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return p.Next(req, i)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	r := *req
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return p.Next(&r, i)
}
