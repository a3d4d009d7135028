package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/carrierwatch/carrierwatch/msidentity"
)

// DefaultBatchConcurrency is the number of $batch requests in flight when
// Config.BatchConcurrency is zero.
const DefaultBatchConcurrency = 4

// Config configures a Client. The zero value is not valid: TenantID,
// ClientID and one credential are required.
type Config struct {
	TenantID string
	ClientID string

	// ClientSecret is the application's client secret, already read from
	// client_secret_file. Exactly one of ClientSecret and CertificatePEM
	// must be set.
	ClientSecret string
	// CertificatePEM holds the certificate and its private key (PEM);
	// CertificatePassword decrypts an encrypted key.
	CertificatePEM      []byte
	CertificatePassword string

	// Cloud is global (default when empty), usgov or china.
	Cloud string
	// AuthorityHost and GraphEndpoint override the cloud's defaults
	// ("https://login.example", "https://graph.example"); "" keeps them.
	// Both must be HTTPS. The Graph endpoint's host is the only host that
	// receives tokens.
	AuthorityHost string
	GraphEndpoint string

	// BatchConcurrency is the number of parallel $batch requests; 0 means
	// DefaultBatchConcurrency.
	BatchConcurrency int

	// Methods says how registered methods are read: MethodsAuto ("" is
	// the same), MethodsRegistrationDetails or MethodsAuthenticationMethods.
	Methods string

	// DefaultRegion is the region of phone numbers registered without a
	// country code (directory.default_region); "" means "JP".
	DefaultRegion string

	// HTTPClient sends every request (token and Graph); its Transport is
	// wrapped by the SDK's middleware. Nil means a client with the default
	// transport and the system trust store (SSL_CERT_FILE works).
	HTTPClient *http.Client
}

// Validate reports every problem of c at once, naming the YAML paths under
// directory.graph. It parses the certificate, so a wrong password or a PEM
// without a key is reported here.
func (c Config) Validate() error {
	const p = "directory.graph."
	var errs []error
	if strings.TrimSpace(c.TenantID) == "" {
		errs = append(errs, errors.New(p+"tenant_id: required"))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, errors.New(p+"client_id: required"))
	}
	switch {
	case c.ClientSecret == "" && len(c.CertificatePEM) == 0:
		errs = append(errs, errors.New(p+"client_secret_file: one of client_secret_file and client_certificate_file is required"))
	case c.ClientSecret != "" && len(c.CertificatePEM) > 0:
		errs = append(errs, errors.New(p+"client_secret_file: at most one of client_secret_file and client_certificate_file"))
	case len(c.CertificatePEM) > 0:
		if _, _, err := azidentity.ParseCertificates(c.CertificatePEM, []byte(c.CertificatePassword)); err != nil {
			errs = append(errs, fmt.Errorf(p+"client_certificate_file: %w", err))
		}
	}
	if _, ok := msidentity.CloudEndpoints(c.Cloud); !ok {
		errs = append(errs, fmt.Errorf(p+"cloud: %q is not one of global, usgov, china", c.Cloud))
	}
	if err := checkHTTPSURL(c.AuthorityHost); err != nil {
		errs = append(errs, fmt.Errorf(p+"authority_host: %w", err))
	}
	if err := checkHTTPSURL(c.GraphEndpoint); err != nil {
		errs = append(errs, fmt.Errorf(p+"graph_endpoint: %w", err))
	}
	switch c.Methods {
	case "", MethodsAuto, MethodsRegistrationDetails, MethodsAuthenticationMethods:
	default:
		errs = append(errs, fmt.Errorf(p+"methods: %q is not one of auto, registration_details, authentication_methods", c.Methods))
	}
	if c.BatchConcurrency < 0 || c.BatchConcurrency > 20 {
		errs = append(errs, fmt.Errorf(p+"batch_concurrency: %d is not between 0 and 20", c.BatchConcurrency))
	}
	return errors.Join(errs...)
}

func (c Config) methods() string {
	if c.Methods == "" {
		return MethodsAuto
	}
	return c.Methods
}

func (c Config) region() string {
	if c.DefaultRegion == "" {
		return "JP"
	}
	return c.DefaultRegion
}

// cloud returns the national cloud's default hosts (msidentity holds
// them for the mail transports too); the zero value for an unknown cloud,
// which Validate reports.
func (c Config) cloud() msidentity.Endpoints {
	e, _ := msidentity.CloudEndpoints(c.Cloud)
	return e
}

// endpoints returns the authority host and the Graph endpoint, without a
// trailing slash.
func (c Config) endpoints() (authority, graph string) {
	d := c.cloud()
	authority, graph = d.Authority, d.Graph
	if c.AuthorityHost != "" {
		authority = c.AuthorityHost
	}
	if c.GraphEndpoint != "" {
		graph = c.GraphEndpoint
	}
	// "https://graph.example/v1.0" is a common way to write the endpoint;
	// the version is ours to add.
	graph = strings.TrimRight(graph, "/")
	graph = strings.TrimSuffix(strings.TrimSuffix(graph, "/v1.0"), "/beta")
	return strings.TrimRight(authority, "/"), graph
}

// customAuthority reports whether the authority is not one of the clouds'
// own, in which case instance discovery (a call to the global cloud) must
// be off.
func (c Config) customAuthority() bool {
	return c.AuthorityHost != "" && strings.TrimRight(c.AuthorityHost, "/") != c.cloud().Authority
}

func checkHTTPSURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%q must be an https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q must be a bare scheme://host[:port]", s)
	}
	return nil
}
