package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"golang.org/x/sync/errgroup"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

// Ways of reading users' registered methods: Config.Methods,
// directory.graph.methods.
const (
	// MethodsAuto reads the userRegistrationDetails report where the
	// tenant is licensed for it (Entra ID P1/P2) and each user's
	// authentication methods where it is not.
	MethodsAuto = "auto"
	// MethodsRegistrationDetails reads the report only; an unlicensed
	// tenant fails the sync.
	MethodsRegistrationDetails = "registration_details"
	// MethodsAuthenticationMethods reads GET /users/{id}/authentication/
	// methods for every enabled user, in $batch requests of 20.
	MethodsAuthenticationMethods = "authentication_methods"
)

// unlicensedCode is Graph's error code when the tenant lacks the Entra ID
// P1/P2 licence a report needs (403 Forbidden).
const unlicensedCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// ErrUnlicensed marks a Fetch in registration_details mode that Graph
// refused because the tenant has no Entra ID P1 or P2 licence.
var ErrUnlicensed = errors.New("the tenant has no Entra ID P1/P2 licence for the userRegistrationDetails report")

// unlicensedError is the report's refusal, kept for the log and the sync
// record.
type unlicensedError struct {
	page    int
	message string
}

func (e *unlicensedError) Error() string {
	return fmt.Sprintf("userRegistrationDetails page %d: status 403 %s: %s", e.page, unlicensedCode, e.message)
}

// asUnlicensed reports whether err is Graph's 403 for a tenant without the
// licence, and returns it as an *unlicensedError.
func asUnlicensed(err error, page int) (*unlicensedError, bool) {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) || oe.ResponseStatusCode != 403 {
		return nil, false
	}
	me := oe.GetErrorEscaped()
	if me == nil || deref(me.GetCode()) != unlicensedCode {
		return nil, false
	}
	return &unlicensedError{page: page, message: deref(me.GetMessage())}, true
}

// What to grant for the per-user reads.
const (
	grantMethodsAPI = "grant UserAuthenticationMethod.Read.All and admin consent"
	grantEmail      = "grant UserAuthMethod-Email.Read.All or UserAuthenticationMethod.Read.All and admin consent"
)

// userRead is one kind of per-user authentication read done in $batch.
type userRead struct {
	name  string // as in errors: "phoneMethods", "methods", "emailMethods"
	grant string
	info  func(ctx context.Context, c *Client, id string) (*abs.RequestInformation, error)
}

var (
	readPhones = userRead{name: "phoneMethods", grant: grantPhones, info: func(ctx context.Context, c *Client, id string) (*abs.RequestInformation, error) {
		return c.users.ByUserId(id).Authentication().PhoneMethods().ToGetRequestInformation(ctx, nil)
	}}
	readMethods = userRead{name: "methods", grant: grantMethodsAPI, info: func(ctx context.Context, c *Client, id string) (*abs.RequestInformation, error) {
		return c.users.ByUserId(id).Authentication().Methods().ToGetRequestInformation(ctx, nil)
	}}
	readEmails = userRead{name: "emailMethods", grant: grantEmail, info: func(ctx context.Context, c *Client, id string) (*abs.RequestInformation, error) {
		return c.users.ByUserId(id).Authentication().EmailMethods().ToGetRequestInformation(ctx, nil)
	}}
)

// syncAuthMethods lists the tenant's users with a full users delta round
// of its own (the profile round may be incremental; the delta is what any
// Graph serves, with User.Read.All) and, as pages arrive, reads every
// enabled user's authentication methods in $batch requests of 20,
// BatchConcurrency at a time. One item gives a user's phones, method names
// and self-service reset e-mail.
func (c *Client) syncAuthMethods(ctx context.Context, prog *progressReporter) (authResult, error) {
	var (
		mu       sync.Mutex
		res      authResult
		auth     = map[string]directory.Auth{}
		queued   int
		finished int
	)
	jobs := make(chan []string)
	g, gctx := errgroup.WithContext(ctx)
	for range c.workers() {
		g.Go(func() error {
			for ids := range jobs {
				bodies, problems, err := c.batchRead(gctx, ids, readMethods)
				if err != nil {
					return err
				}
				mu.Lock()
				for id, body := range bodies {
					a, bad, err := decodeMethods(body, c.cfg.region())
					if err != nil {
						problems = append(problems, fmt.Sprintf("user %s: methods: %v", maskID(id), err))
						continue
					}
					for _, b := range bad {
						problems = append(problems, fmt.Sprintf("user %s: methods: %s", maskID(id), b))
					}
					a.UserID = id
					auth[id] = a
				}
				res.problems = append(res.problems, problems...)
				finished += len(ids)
				done, total := finished, queued
				mu.Unlock()
				prog.report("methods", done, total)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(jobs)
		send := func(ids []string) error {
			select {
			case jobs <- ids:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		next := ""
		seen := map[string]bool{}
		var pending []string
		for page := 1; ; page++ {
			if err := c.waitUnits(gctx, 1); err != nil {
				return err
			}
			var resp users.DeltaGetResponseable
			var err error
			if next == "" {
				resp, err = c.users.Delta().GetAsDeltaGetResponse(gctx, &users.DeltaRequestBuilderGetRequestConfiguration{
					QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: userSelect},
				})
			} else {
				resp, err = users.NewDeltaRequestBuilder(next, c.adapter).GetAsDeltaGetResponse(gctx, nil)
			}
			if err != nil {
				return fmt.Errorf("users delta (user list) page %d: %w", page, denied(err, grantUsers))
			}
			var ids []string
			for _, u := range resp.GetValue() {
				id := deref(u.GetId())
				if id == "" || seen[id] {
					continue // the profile round reports entries without id
				}
				if _, removed := u.GetAdditionalData()["@removed"]; removed {
					continue
				}
				if e := u.GetAccountEnabled(); e != nil && !*e {
					continue // disabled accounts are not synced
				}
				seen[id] = true
				ids = append(ids, id)
			}
			mu.Lock()
			queued += len(ids)
			mu.Unlock()
			pending = append(pending, ids...)
			for len(pending) >= batchSize {
				if err := send(pending[:batchSize:batchSize]); err != nil {
					return err
				}
				pending = pending[batchSize:]
			}
			if next = deref(resp.GetOdataNextLink()); next == "" {
				if deref(resp.GetOdataDeltaLink()) == "" {
					return fmt.Errorf("users delta (user list) page %d: neither @odata.nextLink nor @odata.deltaLink", page)
				}
				break
			}
		}
		if len(pending) > 0 {
			return send(pending)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return authResult{}, err
	}
	ids := make([]string, 0, len(auth))
	for id := range auth {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := auth[id]
		if len(a.Methods) == 0 && len(a.Phones) == 0 && a.ResetEmail == "" {
			continue
		}
		res.add(a)
	}
	sort.Strings(res.problems)
	return res, nil
}

// methodsBody is the body of GET /users/{id}/authentication/methods (and
// of emailMethods): authenticationMethod objects of derived types.
type methodsBody struct {
	Value []struct {
		Type         string `json:"@odata.type"`
		PhoneNumber  string `json:"phoneNumber"`
		PhoneType    string `json:"phoneType"`
		EmailAddress string `json:"emailAddress"`
		AAGUID       string `json:"aaGuid"`
		PasskeyType  string `json:"passkeyType"`
	} `json:"value"`
}

// Passkey providers by Authenticator Attestation GUID: the passkeys the
// report names passKeyDeviceBoundAuthenticator, …WindowsHello and
// passKeySynced. Any other FIDO2 credential is passKeyDeviceBound.
var (
	authenticatorAAGUIDs = []string{
		"90a3ccdf-635c-4729-a248-9b709135078f", // Microsoft Authenticator, iOS
		"de1e552d-db1d-4423-a619-566b625cdc84", // Microsoft Authenticator, Android
	}
	windowsHelloAAGUIDs = []string{
		"08987058-cadc-4b81-b6e1-30de50dcbe96",
		"9ddd1817-af5a-4672-a2b9-3e3dd95000a9",
		"6028b017-b1d4-4c02-b4b3-afcdafc96bb2",
	}
	syncedAAGUIDs = []string{
		"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", // iCloud Keychain
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", // Google Password Manager
		"adce0002-35bc-c60a-648b-0b25f1f05503", // Chrome on Mac
		"bada5566-a7aa-401f-bd96-45619a55120d", // 1Password
		"d548826e-79b4-db40-a3d8-11116f7e8349", // Bitwarden
	}
)

// methodName maps an authentication method's @odata.type to the
// methodsRegistered name the report uses for it, so that segmenting reads
// one vocabulary. ok is false for the password, which is no second factor.
// A type not known here keeps its bare name ("qrCodePin"), which the
// notifier logs once as unknown and does not count.
func methodName(odataType, phoneType, aaguid, passkeyType string) (name string, ok bool) {
	t := strings.TrimPrefix(odataType, "#microsoft.graph.")
	switch t {
	case "passwordAuthenticationMethod":
		return "", false
	case "phoneAuthenticationMethod":
		switch phoneType {
		case "mobile":
			return "mobilePhone", true
		case "alternateMobile":
			return "alternateMobilePhone", true
		case "office":
			return "officePhone", true
		}
		return "", false
	case "emailAuthenticationMethod":
		return "email", true
	case "microsoftAuthenticatorAuthenticationMethod":
		return "microsoftAuthenticatorPush", true
	case "softwareOathAuthenticationMethod":
		return "softwareOneTimePasscode", true
	case "hardwareOathAuthenticationMethod":
		return "hardwareOneTimePasscode", true
	case "fido2AuthenticationMethod":
		g := strings.ToLower(aaguid)
		switch {
		case strings.EqualFold(passkeyType, "synced") || slices.Contains(syncedAAGUIDs, g):
			return "passKeySynced", true
		case slices.Contains(authenticatorAAGUIDs, g):
			return "passKeyDeviceBoundAuthenticator", true
		case slices.Contains(windowsHelloAAGUIDs, g):
			return "passKeyDeviceBoundWindowsHello", true
		}
		return "passKeyDeviceBound", true
	case "windowsHelloForBusinessAuthenticationMethod":
		return "windowsHelloForBusiness", true
	case "platformCredentialAuthenticationMethod":
		return "macOsSecureEnclaveKey", true
	case "temporaryAccessPassAuthenticationMethod":
		return "temporaryAccessPass", true
	case "externalAuthenticationMethod":
		return "externalAuthMethod", true
	}
	if t == "" {
		return "", false
	}
	return strings.TrimSuffix(t, "AuthenticationMethod"), true
}

// decodeMethods turns one user's authentication methods into the same
// Auth the report and phoneMethods give: methodsRegistered names (each
// once, in the order listed), normalised phones and the self-service
// reset e-mail. problems never hold a whole number or address.
func decodeMethods(body core.RequestBody, region string) (a directory.Auth, problems []string, err error) {
	raw, err := json.Marshal(map[string]any(body))
	if err != nil {
		return a, nil, fmt.Errorf("re-encode body: %w", err)
	}
	var b methodsBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return a, nil, fmt.Errorf("decode body: %w", err)
	}
	var phones []carrierwatch.Phone
	for _, v := range b.Value {
		name, ok := methodName(v.Type, v.PhoneType, v.AAGUID, v.PasskeyType)
		if strings.HasSuffix(v.Type, ".phoneAuthenticationMethod") {
			t, known := phoneType(v.PhoneType)
			if !known {
				problems = append(problems, fmt.Sprintf("unknown phoneType %q skipped", v.PhoneType))
				continue
			}
			if strings.TrimSpace(v.PhoneNumber) != "" {
				phones = append(phones, carrierwatch.Phone{Type: t, Raw: v.PhoneNumber})
			}
		}
		if strings.HasSuffix(v.Type, ".emailAuthenticationMethod") && a.ResetEmail == "" {
			a.ResetEmail = strings.TrimSpace(v.EmailAddress)
		}
		if ok && !slices.Contains(a.Methods, name) {
			a.Methods = append(a.Methods, name)
		}
	}
	phones, bad := directory.NormalizePhones(phones, region)
	if len(phones) > 0 {
		a.Phones = phones
	}
	return a, append(problems, bad...), nil
}

// decodeEmail returns the address of a user's emailMethods (Graph lists
// at most one, without @odata.type), "" when none.
func decodeEmail(body core.RequestBody) (string, error) {
	raw, err := json.Marshal(map[string]any(body))
	if err != nil {
		return "", fmt.Errorf("re-encode body: %w", err)
	}
	var b methodsBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", fmt.Errorf("decode body: %w", err)
	}
	for _, v := range b.Value {
		if e := strings.TrimSpace(v.EmailAddress); e != "" {
			return e, nil
		}
	}
	return "", nil
}
