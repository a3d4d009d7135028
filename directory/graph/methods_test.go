package graph

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// TestFetchUnlicensedFallsBackToAuthenticationMethods syncs the fixture
// tenant twice: licensed (the report) and as a tenant without Entra ID
// P1/P2, whose report answers Graph's 403. The fallback reads the same
// phones, the same methodsRegistered names (one vocabulary for segments)
// and the reset e-mail, per user in $batch, listing the users with a
// delta round of its own.
func TestFetchUnlicensedFallsBackToAuthenticationMethods(t *testing.T) {
	licensed := newFakeGraph(t, loadTenant(t))
	c, _ := testClient(t, licensed, nil)
	want, err := c.Fetch(context.Background(), "", nil)
	if err != nil {
		t.Fatalf("licensed Fetch: %v", err)
	}

	f := newFakeGraph(t, loadTenant(t))
	f.SetUnlicensed(true)
	f.SetPageSizes(5, 0) // 13 users: 3 delta pages a round
	f.ThrottleItem(idAoki, 2)
	c, waits := testClient(t, f, nil)
	var stages []string
	got, err := c.Fetch(context.Background(), "", func(p directory.Progress) {
		if len(stages) == 0 || stages[len(stages)-1] != p.Stage {
			stages = append(stages, p.Stage)
		}
	})
	if err != nil {
		t.Fatalf("unlicensed Fetch: %v", err)
	}
	// The fixture's report names a phone for nakamura that the phone
	// methods lack; per user, one source says both, so nakamura has none.
	var wantAuth []directory.Auth
	for _, a := range want.Auth {
		if a.UserID != idNakamura {
			wantAuth = append(wantAuth, a)
		}
	}
	if !reflect.DeepEqual(got.Auth, wantAuth) {
		t.Errorf("auth from authentication/methods differs from the report's:\ngot  %+v\nwant %+v", got.Auth, wantAuth)
	}
	if !reflect.DeepEqual(got.Users, want.Users) || got.Cursor != f.URL+"/v1.0/users/delta?$deltatoken=1" || !got.Full || !got.AuthFull {
		t.Errorf("users part differs: full=%v authFull=%v cursor=%q", got.Full, got.AuthFull, got.Cursor)
	}
	if got.Mode != MethodsAuthenticationMethods || !strings.Contains(got.ModeReason, "403 Authentication_RequestFromNonPremiumTenantOrB2CTenant") {
		t.Errorf("mode = %q (%q), want authentication_methods because of the 403", got.Mode, got.ModeReason)
	}
	st := f.Stats()
	if got, want := st.Requests[graphtest.KindReport], 1; got != want {
		t.Errorf("report requests = %d, want %d (the licence check)", got, want)
	}
	if got, want := st.Requests[graphtest.KindDelta], 6; got != want {
		t.Errorf("delta pages = %d, want %d (the profiles and the user list)", got, want)
	}
	// 12 enabled users in one batch of 12; aoki's item throttled twice.
	if got, want := st.Requests[graphtest.KindBatch], 3; got != want {
		t.Errorf("batch requests = %d, want %d", got, want)
	}
	if got, want := st.ItemAttempts[idAoki], 3; got != want {
		t.Errorf("attempts for a user throttled twice = %d, want %d", got, want)
	}
	if _, asked := st.ItemAttempts["e5f6a7b8-5555-4e9f-8a3b-4c5d6e7f8a9b"]; asked {
		t.Error("the disabled user's methods were read")
	}
	if got, want := *waits, []time.Duration{time.Second, time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("retry waits = %v, want %v", got, want)
	}
	if !strings.Contains(strings.Join(stages, ","), "methods") {
		t.Errorf("progress stages %v lack methods", stages)
	}
}

// TestFetchUnlicensedMidReport: Graph's licence refusal on a later page of
// the report (seen intermittently in licensed tenants) also starts the
// per-user read from scratch; the result is complete.
func TestFetchUnlicensedMidReport(t *testing.T) {
	f := newFakeGraph(t, loadTenant(t))
	f.SetPageSizes(0, 5) // 12 rows: 3 report pages
	f.RefuseReportUnlicensed(2)
	c, _ := testClient(t, f, nil)
	got, err := c.Fetch(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != MethodsAuthenticationMethods || len(got.Auth) != 10 {
		t.Errorf("mode %q with %d auth entries, want authentication_methods with 10", got.Mode, len(got.Auth))
	}
	if n := f.Count(graphtest.KindReport); n != 2 {
		t.Errorf("report requests = %d, want 2 (page 1, then the refusal)", n)
	}
}

func TestFetchMethodsModes(t *testing.T) {
	t.Run("registration_details in an unlicensed tenant fails", func(t *testing.T) {
		f := newFakeGraph(t, loadTenant(t))
		f.SetUnlicensed(true)
		cfg := fakeConfig(f)
		cfg.Methods = MethodsRegistrationDetails
		c := newTestClient(t, cfg)
		got, err := c.Fetch(context.Background(), "", nil)
		if got != nil || !errors.Is(err, ErrUnlicensed) {
			t.Fatalf("Fetch = %v, %v; want no update and ErrUnlicensed", got, err)
		}
		for _, want := range []string{"403 Authentication_RequestFromNonPremiumTenantOrB2CTenant", "directory.graph.methods", "UserAuthenticationMethod.Read.All"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if n := f.Count(graphtest.KindDelta); n > 1 {
			t.Errorf("delta pages = %d in registration_details mode, want at most the profiles' one (no user list)", n)
		}
	})
	t.Run("authentication_methods never asks for the report", func(t *testing.T) {
		f := newFakeGraph(t, loadTenant(t))
		cfg := fakeConfig(f)
		cfg.Methods = MethodsAuthenticationMethods
		c := newTestClient(t, cfg)
		got, err := c.Fetch(context.Background(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := f.Count(graphtest.KindReport); n != 0 {
			t.Errorf("report requests = %d, want 0", n)
		}
		if got.Mode != MethodsAuthenticationMethods || !strings.Contains(got.ModeReason, "configured") {
			t.Errorf("mode = %q (%q)", got.Mode, got.ModeReason)
		}
		if len(got.Auth) != 10 { // 11 with methods; nakamura's report-only phone is not one
			t.Errorf("auth entries = %d, want 10", len(got.Auth))
		}
	})
	t.Run("an unknown mode is a config error", func(t *testing.T) {
		cfg := Config{TenantID: "t", ClientID: "c", ClientSecret: "s", Methods: "report"}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "directory.graph.methods") {
			t.Errorf("Validate = %v", err)
		}
	})
}

// TestFetchAuthenticationMethodsFailures: in the per-user mode too, a
// refused permission or a read that keeps failing returns no Update.
func TestFetchAuthenticationMethodsFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*fakeGraph)
		want  string
		perm  bool
	}{
		{"403 on one methods item", func(f *fakeGraph) { f.SetItemStatus(idOta, 403) }, "UserAuthenticationMethod.Read.All and admin consent", true},
		{"403 on the users delta", func(f *fakeGraph) { f.DenyRequests(graphtest.KindDelta, 403) }, "User.Read.All and admin consent", true},
		{"500 on a users delta page", func(f *fakeGraph) { f.FailRequest(graphtest.KindDelta, 3) }, "users delta", false},
		{"an item failing with 500 every time", func(f *fakeGraph) { f.SetItemStatus(idIto, 500) }, "status 500 after 3 attempts", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, loadTenant(t))
			f.SetUnlicensed(true)
			f.SetPageSizes(5, 0)
			c, _ := testClient(t, f, nil)
			tt.setup(f)
			got, err := c.Fetch(context.Background(), "", nil)
			if err == nil || got != nil {
				t.Fatalf("Fetch = %v, %v; want an error and no update", got, err)
			}
			if errors.Is(err, ErrPermission) != tt.perm || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrPermission=%v and %q", err, tt.perm, tt.want)
			}
		})
	}
}

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reportLimit = nil
	c.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return c
}

func TestDecodeMethods(t *testing.T) {
	body := map[string]any{"value": []any{
		map[string]any{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490", "password": nil},
		map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+81 9012345678", "phoneType": "mobile"},
		map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "b6332ec1-7057-4abe-9331-3d72feddfe41", "phoneNumber": "+81 8011112222", "phoneType": "alternateMobile"},
		map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "e37fc753-ff3b-4958-9484-eae9a2a0c71e", "phoneNumber": "+81 358001234", "phoneType": "office"},
		map[string]any{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "x", "phoneNumber": "+81 9099999999", "phoneType": "satellite"},
		map[string]any{"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": "3ddfcfc8-9383-446f-83cc-3ab9be4be18f", "emailAddress": " kim.reset@mail.example.com "},
		map[string]any{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "displayName": "iPhone"},
		map[string]any{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "displayName": "second phone"},
		map[string]any{"@odata.type": "#microsoft.graph.softwareOathAuthenticationMethod"},
		map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8"},
		map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "aaGuid": "DE1E552D-DB1D-4423-A619-566B625CDC84"},
		map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "aaGuid": "08987058-cadc-4b81-b6e1-30de50dcbe96"},
		map[string]any{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "aaGuid": "00000000-0000-0000-0000-000000000000", "passkeyType": "synced"},
		map[string]any{"@odata.type": "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"},
		map[string]any{"@odata.type": "#microsoft.graph.platformCredentialAuthenticationMethod", "platform": "macOS"},
		map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod"},
		map[string]any{"@odata.type": "#microsoft.graph.externalAuthenticationMethod"},
		map[string]any{"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod"},
		map[string]any{"@odata.type": "#microsoft.graph.qrCodePinAuthenticationMethod"},
	}}
	a, problems, err := decodeMethods(body, "JP")
	if err != nil {
		t.Fatal(err)
	}
	wantMethods := []string{"mobilePhone", "alternateMobilePhone", "officePhone", "email", "microsoftAuthenticatorPush",
		"softwareOneTimePasscode", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeyDeviceBoundWindowsHello",
		"passKeySynced", "windowsHelloForBusiness", "macOsSecureEnclaveKey", "temporaryAccessPass", "externalAuthMethod",
		"hardwareOneTimePasscode", "qrCodePin"}
	if !reflect.DeepEqual(a.Methods, wantMethods) {
		t.Errorf("methods = %q\nwant      %q", a.Methods, wantMethods)
	}
	wantPhones := []carrierwatch.Phone{
		{Type: carrierwatch.PhoneMobile, Raw: "+81 9012345678", E164: "+819012345678"},
		{Type: carrierwatch.PhoneAlternateMobile, Raw: "+81 8011112222", E164: "+818011112222"},
		{Type: carrierwatch.PhoneOffice, Raw: "+81 358001234", E164: "+81358001234"},
	}
	if !reflect.DeepEqual(a.Phones, wantPhones) {
		t.Errorf("phones = %+v", a.Phones)
	}
	if a.ResetEmail != "kim.reset@mail.example.com" {
		t.Errorf("reset e-mail = %q", a.ResetEmail)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], `unknown phoneType "satellite"`) || strings.Contains(problems[0], "9099999999") {
		t.Errorf("problems = %q, want one naming the phone type and not the number", problems)
	}
}

func TestDecodeEmail(t *testing.T) {
	// As GET /users/{id}/authentication/emailMethods answers: no @odata.type.
	e, err := decodeEmail(map[string]any{"value": []any{map[string]any{"id": "3ddfcfc8-9383-446f-83cc-3ab9be4be18f", "emailAddress": "kim@contoso.example"}}})
	if err != nil || e != "kim@contoso.example" {
		t.Errorf("decodeEmail = %q, %v", e, err)
	}
	if e, err := decodeEmail(map[string]any{"value": []any{}}); err != nil || e != "" {
		t.Errorf("decodeEmail(none) = %q, %v", e, err)
	}
}
