// Package msidentity gets access tokens from the Microsoft identity platform
// for carrierwatch's mail transports: an application's client credentials
// (a client secret or a certificate) in one tenant of one national cloud,
// for the scope of Exchange Online (SMTP AUTH XOAUTH2) or of Microsoft
// Graph (sendMail). It holds the clouds' endpoints and knows nothing of
// mail or of the directory; tokens are never logged or put into errors.
package msidentity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Clouds, as written in the config file.
const (
	CloudGlobal = "global"
	CloudUSGov  = "usgov"
	CloudChina  = "china"
)

// Endpoints are a national cloud's default hosts.
type Endpoints struct {
	// Authority is the identity platform ("https://login.microsoftonline.com").
	Authority string
	// Graph is Microsoft Graph ("https://graph.microsoft.com").
	Graph string
	// Exchange is Exchange Online, whose "/.default" scope SMTP AUTH
	// XOAUTH2 tokens are for ("https://outlook.office365.com").
	Exchange string
}

var clouds = map[string]Endpoints{
	CloudGlobal: {"https://login.microsoftonline.com", "https://graph.microsoft.com", "https://outlook.office365.com"},
	CloudUSGov:  {"https://login.microsoftonline.us", "https://graph.microsoft.us", "https://outlook.office365.us"},
	CloudChina:  {"https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn", "https://partner.outlook.cn"},
}

// CloudEndpoints returns the endpoints of cloud ("" is global); false for
// an unknown cloud.
func CloudEndpoints(cloud string) (Endpoints, bool) {
	if cloud == "" {
		cloud = CloudGlobal
	}
	e, ok := clouds[cloud]
	return e, ok
}

// Credentials are an application's client credentials in one tenant.
type Credentials struct {
	TenantID string
	ClientID string
	// ClientSecret, or CertificatePEM (certificate and private key) with
	// CertificatePassword for an encrypted key: exactly one is set.
	ClientSecret        string
	CertificatePEM      []byte
	CertificatePassword string
	// Cloud is global ("" too), usgov or china.
	Cloud string
	// AuthorityHost overrides the cloud's identity platform
	// ("https://login.example"); "" keeps it.
	AuthorityHost string
	// HTTPClient sends the token requests; nil is the default client.
	HTTPClient *http.Client
}

// Validate reports what is missing or wrong, naming the config keys under
// path ("mail.smtp.oauth2").
func (c Credentials) Validate(path string) error {
	var errs []error
	if strings.TrimSpace(c.TenantID) == "" {
		errs = append(errs, fmt.Errorf("%s.tenant_id: required", path))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, fmt.Errorf("%s.client_id: required", path))
	}
	switch {
	case c.ClientSecret == "" && len(c.CertificatePEM) == 0:
		errs = append(errs, fmt.Errorf("%s: one of client_secret_file and client_certificate_file is required", path))
	case c.ClientSecret != "" && len(c.CertificatePEM) > 0:
		errs = append(errs, fmt.Errorf("%s: at most one of client_secret_file and client_certificate_file", path))
	case len(c.CertificatePEM) > 0:
		if _, _, err := azidentity.ParseCertificates(c.CertificatePEM, []byte(c.CertificatePassword)); err != nil {
			errs = append(errs, fmt.Errorf("%s.client_certificate_file: %w", path, err))
		}
	}
	if _, ok := CloudEndpoints(c.Cloud); !ok {
		errs = append(errs, fmt.Errorf("%s.cloud: %q is not one of global, usgov, china", path, c.Cloud))
	}
	return errors.Join(errs...)
}

// TokenSource gives access tokens for one scope. azidentity keeps a token
// until shortly before it expires and fetches a new one then, so calling
// Token for each new connection or request is cheap and never uses an
// expired token. It is safe for concurrent use.
type TokenSource struct {
	cred  azcore.TokenCredential
	scope string
}

// NewTokenSource returns a source of tokens for scope
// ("https://outlook.office365.com/.default").
func NewTokenSource(c Credentials, scope string) (*TokenSource, error) {
	if err := c.Validate("credentials"); err != nil {
		return nil, err
	}
	e, _ := CloudEndpoints(c.Cloud)
	authority := e.Authority
	if c.AuthorityHost != "" {
		authority = c.AuthorityHost
	}
	authority = strings.TrimRight(authority, "/")
	co := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authority + "/"}}
	if c.HTTPClient != nil {
		co.Transport = c.HTTPClient
	}
	// Instance discovery asks the global cloud about the authority: off
	// for any authority that is not a cloud's own.
	custom := authority != e.Authority
	var cred azcore.TokenCredential
	var err error
	if c.ClientSecret != "" {
		cred, err = azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
	} else {
		certs, key, perr := azidentity.ParseCertificates(c.CertificatePEM, []byte(c.CertificatePassword))
		if perr != nil {
			return nil, fmt.Errorf("certificate: %w", perr)
		}
		cred, err = azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: custom})
	}
	if err != nil {
		return nil, fmt.Errorf("client credential: %w", err)
	}
	return &TokenSource{cred: cred, scope: scope}, nil
}

// Token returns a current access token.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	tok, err := t.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{t.scope}})
	if err != nil {
		// azidentity's errors carry the identity platform's answer
		// (AADSTS codes), never a secret or a token.
		return "", fmt.Errorf("get an access token for %s: %w", t.scope, err)
	}
	return tok.Token, nil
}

// Scope returns the scope the tokens are for.
func (t *TokenSource) Scope() string { return t.scope }

// ExchangeScope returns the scope of SMTP AUTH XOAUTH2 tokens in cloud
// ("https://outlook.office365.com/.default" in the global cloud).
func ExchangeScope(cloud string) string {
	e, _ := CloudEndpoints(cloud)
	return e.Exchange + "/.default"
}

// GraphScope returns the scope of Microsoft Graph tokens for endpoint
// ("https://graph.microsoft.com/.default").
func GraphScope(endpoint string) string {
	return strings.TrimRight(endpoint, "/") + "/.default"
}
