package graphtest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Kinds of the per-user authentication-methods reads, beside those in
// server.go.
const (
	KindMethods      = "methods"      // GET /v1.0/users/{id}/authentication/methods
	KindEmailMethods = "emailMethods" // GET /v1.0/users/{id}/authentication/emailMethods
)

// How Graph refuses the userRegistrationDetails report in a tenant without
// Entra ID P1 or P2 (403 Forbidden with this code and message), and
// sometimes, briefly, in a licensed one.
const (
	UnlicensedCode    = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
	UnlicensedMessage = "Neither tenant is B2C or tenant doesn't have premium license"
)

// Fixed ids Graph gives the password and e-mail methods of every user.
const (
	passwordMethodID = "28c10230-6103-485e-b985-444c60001490"
	emailMethodID    = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
)

// Authenticator Attestation GUIDs the fake gives passkeys by kind.
const (
	AAGUIDSecurityKey   = "cb69481e-8ff7-4039-93ec-0a2729a154a8" // YubiKey 5 Series
	AAGUIDAuthenticator = "90a3ccdf-635c-4729-a248-9b709135078f" // Microsoft Authenticator (iOS)
	AAGUIDWindowsHello  = "08987058-cadc-4b81-b6e1-30de50dcbe96" // Windows Hello
	AAGUIDICloud        = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd" // iCloud Keychain (synced)
)

// Email is a user's emailAuthenticationMethod: the address the user gave
// for self-service password reset. A user has at most one.
type Email struct {
	EmailAddress string `json:"emailAddress"`
}

// SetUnlicensed makes the tenant one without Entra ID P1/P2 (on) or with
// it (off): the userRegistrationDetails report then answers 403 with
// UnlicensedCode, as Graph does.
func (f *Server) SetUnlicensed(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlicensed = on
}

// RefuseReportUnlicensed makes the n-th report request (from 1) answer the
// unlicensed 403 once, as Graph has been seen to do in licensed tenants.
func (f *Server) RefuseReportUnlicensed(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlicensedAt = n
}

// SetResetEmail sets (or, with "", removes) the self-service reset e-mail
// of the user with id; the report row is not changed.
func (f *Server) SetResetEmail(id, address string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if address == "" {
		delete(f.emails, id)
		return
	}
	f.emails[id] = []Email{{EmailAddress: address}}
}

// userAuthKind splits "/users/{id}/authentication/<what>" into the escaped
// id and the request kind; ok is false for any other path.
func userAuthKind(rest string) (rawID, kind string, ok bool) {
	tail, ok := strings.CutPrefix(rest, "/users/")
	if !ok {
		return "", "", false
	}
	for suffix, k := range map[string]string{phoneSuffix: KindPhoneMethods, methodsSuffix: KindMethods, emailMethodsSuffix: KindEmailMethods} {
		if id, found := strings.CutSuffix(tail, suffix); found && id != "" && !strings.Contains(id, "/") {
			return id, k, true
		}
	}
	return "", "", false
}

const (
	methodsSuffix      = "/authentication/methods"
	emailMethodsSuffix = "/authentication/emailMethods"
)

// SetReadStatus makes the reads of kind (KindPhoneMethods, KindMethods or
// KindEmailMethods) for userID answer status with Graph's error body, as
// SetItemStatus does for all of them; 0 stops it.
func (f *Server) SetReadStatus(kind, userID string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		delete(f.kindCode, kind+" "+userID)
		return
	}
	f.kindCode[kind+" "+userID] = status
}

// authItem answers one per-user read of kind (phoneMethods, methods or
// emailMethods), as a direct request or a $batch item.
func (f *Server) authItem(kind, id string) (int, any) {
	f.mu.Lock()
	code, fixed := f.kindCode[kind+" "+id]
	f.mu.Unlock()
	if kind == KindPhoneMethods && !fixed {
		return f.phoneItem(id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemAttempts[id]++
	if fixed {
		return errorFor(id, code)
	}
	if status, body, failed := f.itemFailure(id); failed {
		return status, body
	}
	value := []any{}
	what := "methods"
	switch kind {
	case KindEmailMethods:
		what = "emailMethods"
		for _, e := range f.emails[id] {
			value = append(value, emailMethod(e))
		}
	default:
		value = f.methodsOf(id)
	}
	return 200, map[string]any{
		"@odata.context": f.URL + "/v1.0/$metadata#users('" + url.PathEscape(id) + "')/authentication/" + what,
		"value":          value,
	}
}

// itemFailure is the answer SetItemStatus asks for, or a 404 for a user
// that does not exist. Called with f.mu held.
func (f *Server) itemFailure(id string) (int, any, bool) {
	if code, ok := f.itemCode[id]; ok {
		status, body := errorFor(id, code)
		return status, body, true
	}
	if e := f.index[id]; e == nil || e.deleted {
		return 404, errorBody("Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present."), true
	}
	return 0, nil, false
}

// errorFor is Graph's answer with status for a read of user id.
func errorFor(id string, status int) (int, any) {
	switch status {
	case 404:
		return 404, errorBody("Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
	case 403:
		return 403, errorBody("accessDenied", "Request Authorization failed")
	case 401:
		return 401, errorBody("InvalidAuthenticationToken", "Access token validation failure.")
	}
	return status, errorBody("generalException", "General exception while processing.")
}

func emailMethod(e Email) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": emailMethodID, "emailAddress": e.EmailAddress}
}

// methodsOf builds what GET /users/{id}/authentication/methods lists for a
// user: the password, the phones, the reset e-mail and one object of the
// matching type for each other name of the user's report row, shaped as
// the v1.0 resource types are. Names v1.0 does not list (hardware OATH
// tokens, security questions) have no object, as in Graph. Called with
// f.mu held.
func (f *Server) methodsOf(id string) []any {
	const created = "2025-04-01T09:00:00Z"
	out := []any{map[string]any{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": passwordMethodID, "password": nil, "createdDateTime": created}}
	for _, p := range f.phones[id] {
		out = append(out, map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": p.ID,
			"phoneNumber": p.PhoneNumber, "phoneType": p.PhoneType, "smsSignInState": p.SMSSignInState})
	}
	for _, e := range f.emails[id] {
		out = append(out, emailMethod(e))
	}
	var names []string
	for _, r := range f.reg {
		if r.ID == id {
			names = r.MethodsRegistered
			break
		}
	}
	fido2 := func(n int, aaguid, model string, extra ...string) map[string]any {
		m := map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": fmt.Sprintf("%s-%d", aaguid[:8], n),
			"displayName": model, "createdDateTime": created, "aaGuid": aaguid, "model": model,
			"attestationCertificates": []string{}, "attestationLevel": "notAttested"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	for i, n := range names {
		var m map[string]any
		switch n {
		case "microsoftAuthenticatorPush", "microsoftAuthenticatorPasswordless":
			m = map[string]any{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": "6f3a1b2c-0000-4d5e-8f9a-" + strconv.Itoa(100000000000+i),
				"displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.7", "createdDateTime": created}
		case "softwareOneTimePasscode":
			m = map[string]any{"@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod", "id": "b172893e-0000-4c8d-9e1f-" + strconv.Itoa(100000000000+i), "secretKey": nil}
		case "fido2", "fido2SecurityKey", "passKeyDeviceBound":
			m = fido2(i, AAGUIDSecurityKey, "YubiKey 5 Series", "attestationLevel", "attested")
		case "passKeyDeviceBoundAuthenticator":
			m = fido2(i, AAGUIDAuthenticator, "Microsoft Authenticator - iOS")
		case "passKeyDeviceBoundWindowsHello":
			m = fido2(i, AAGUIDWindowsHello, "Windows Hello")
		case "passKeySynced":
			m = fido2(i, AAGUIDICloud, "iCloud Keychain", "passkeyType", "synced")
		case "windowsHelloForBusiness":
			m = map[string]any{"@odata.type": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod", "id": "_jpuR-TGZtk6aQCLF3BQjA2",
				"displayName": "DESKTOP-LAB01", "createdDateTime": created, "keyStrength": "normal"}
		case "macOsSecureEnclaveKey":
			m = map[string]any{"@odata.type": "#microsoft.graph.platformCredentialAuthenticationMethod", "id": "_jpuR-TGZtk6aQCLF3BQjA3",
				"displayName": "MacBook Pro", "createdDateTime": created, "keyStrength": "normal", "platform": "macOS"}
		case "temporaryAccessPass":
			m = map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": "6f1c4b5a-0000-4d3e-8a7b-" + strconv.Itoa(100000000000+i),
				"temporaryAccessPass": nil, "createdDateTime": created, "startDateTime": created, "lifetimeInMinutes": 60,
				"isUsableOnce": true, "isUsable": false, "methodUsabilityReason": "Expired"}
		case "externalAuthMethod":
			m = map[string]any{"@odata.type": "#microsoft.graph.externalAuthenticationMethod", "id": "e1f2a3b4-0000-4c5d-8e9f-" + strconv.Itoa(100000000000+i),
				"displayName": "Partner MFA", "configurationId": "f0e1d2c3-0000-4b5a-9c8d-7e6f5a4b3c2d", "createdDateTime": created}
		default:
			continue // phones and e-mail above; others are not listed by v1.0
		}
		out = append(out, m)
	}
	return out
}
