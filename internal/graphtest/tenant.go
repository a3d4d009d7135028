package graphtest

import (
	_ "embed"
	"encoding/json"
	"testing"
)

// User is a user as users/delta returns it with the provider's $select.
type User struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	Mail              *string  `json:"mail"`
	OtherMails        []string `json:"otherMails"`
	PreferredLanguage *string  `json:"preferredLanguage"`
	AccountEnabled    bool     `json:"accountEnabled"`
}

// Registration is one row of the userRegistrationDetails report.
type Registration struct {
	ID                                            string   `json:"id"`
	UserPrincipalName                             string   `json:"userPrincipalName"`
	UserDisplayName                               string   `json:"userDisplayName"`
	UserType                                      string   `json:"userType"`
	IsAdmin                                       bool     `json:"isAdmin"`
	IsSsprRegistered                              bool     `json:"isSsprRegistered"`
	IsSsprEnabled                                 bool     `json:"isSsprEnabled"`
	IsSsprCapable                                 bool     `json:"isSsprCapable"`
	IsMfaRegistered                               bool     `json:"isMfaRegistered"`
	IsMfaCapable                                  bool     `json:"isMfaCapable"`
	IsPasswordlessCapable                         bool     `json:"isPasswordlessCapable"`
	MethodsRegistered                             []string `json:"methodsRegistered"`
	IsSystemPreferredAuthenticationMethodEnabled  bool     `json:"isSystemPreferredAuthenticationMethodEnabled"`
	SystemPreferredAuthenticationMethods          []string `json:"systemPreferredAuthenticationMethods"`
	UserPreferredMethodForSecondaryAuthentication string   `json:"userPreferredMethodForSecondaryAuthentication"`
	LastUpdatedDateTime                           string   `json:"lastUpdatedDateTime"`
}

// Phone is one phoneAuthenticationMethod.
type Phone struct {
	ID             string `json:"id"`
	PhoneNumber    string `json:"phoneNumber"`
	PhoneType      string `json:"phoneType"` // mobile, alternateMobile or office
	SMSSignInState string `json:"smsSignInState"`
}

// Tenant is the data a Server serves: its users (disabled ones included),
// the methods report's rows, each user's phone methods and self-service
// reset e-mail by user id. A user's other authentication methods (for
// GET /users/{id}/authentication/methods) are derived from the names of
// their report row.
type Tenant struct {
	Users                   []User             `json:"users"`
	UserRegistrationDetails []Registration     `json:"userRegistrationDetails"`
	PhoneMethods            map[string][]Phone `json:"phoneMethods"`
	EmailMethods            map[string][]Email `json:"emailMethods"`
}

//go:embed testdata/tenant.json
var tenantJSON []byte

// LoadTenant returns a fresh copy of the fixture tenant: thirteen users of
// a Japanese university (one disabled, one addressed by its UPN, one new
// hire without methods) with mobile, alternate, office and foreign phones,
// authenticator apps and a passkey. It fails tb if the fixture is broken.
func LoadTenant(tb testing.TB) Tenant {
	tb.Helper()
	var t Tenant
	if err := json.Unmarshal(tenantJSON, &t); err != nil {
		tb.Fatalf("graphtest: load tenant fixture: %v", err)
	}
	return t
}
