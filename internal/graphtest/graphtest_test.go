package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func token(t *testing.T, s *Server, secret string) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {ClientID},
		"client_secret": {secret}, "scope": {s.URL + "/.default"},
	}
	resp, err := s.Client().PostForm(s.URL+"/"+TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func get(t *testing.T, s *Server, u, bearer string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestTokenEndpoint(t *testing.T) {
	tests := []struct {
		name, secret string
		status       int
		tokens       int
	}{
		{"right secret", DefaultSecret, http.StatusOK, 1},
		{"wrong secret", "guess", http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, LoadTenant(t))
			status, body := token(t, s, tt.secret)
			if got, want := status, tt.status; got != want {
				t.Fatalf("status = %d, want %d (%v)", got, want, body)
			}
			if tt.status == http.StatusOK {
				if got, want := body["access_token"], AccessToken; got != want {
					t.Errorf("access_token = %v, want %v", got, want)
				}
			} else if got, want := body["error"], "invalid_client"; got != want {
				t.Errorf("error = %v, want %v", got, want)
			}
			if got, want := s.Stats().Tokens, tt.tokens; got != want {
				t.Errorf("tokens issued = %d, want %d", got, want)
			}
		})
	}
}

// TestDeltaPagesAndAuth walks a full users/delta round in pages and checks
// that Graph refuses a request without the token.
func TestDeltaPagesAndAuth(t *testing.T) {
	tenant := LoadTenant(t)
	s := New(t, tenant)
	s.SetPageSizes(5, 0)

	next := s.URL + "/v1.0/users/delta?$select=" + strings.Join(userSelect, ",")
	if status, body := get(t, s, next, ""); status != http.StatusUnauthorized {
		t.Fatalf("status without a token = %d (%v), want 401", status, body)
	}
	var ids []string
	pages := 0
	for next != "" {
		status, body := get(t, s, next, AccessToken)
		if status != http.StatusOK {
			t.Fatalf("page %d: status %d: %v", pages+1, status, body)
		}
		pages++
		for _, v := range body["value"].([]any) {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		next, _ = body["@odata.nextLink"].(string)
		if next == "" {
			if link, _ := body["@odata.deltaLink"].(string); !strings.Contains(link, "$deltatoken=1") {
				t.Errorf("last page's deltaLink = %q, want $deltatoken=1", link)
			}
		}
	}
	if got, want := len(ids), len(tenant.Users); got != want {
		t.Errorf("users = %d, want %d", got, want)
	}
	if got, want := pages, (len(tenant.Users)+4)/5; got != want {
		t.Errorf("pages = %d, want %d", got, want)
	}
	if got, want := s.Count(KindDelta), pages; got != want {
		t.Errorf("delta requests counted = %d, want %d (not the unauthenticated one)", got, want)
	}

	s.SetStaleDeltaTokens(http.StatusGone)
	if status, body := get(t, s, s.URL+"/v1.0/users/delta?$deltatoken=1", AccessToken); status != http.StatusGone {
		t.Errorf("stale delta token: status %d (%v), want 410", status, body)
	}
}
