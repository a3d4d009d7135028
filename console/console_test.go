package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/console"
	"github.com/carrierwatch/carrierwatch/store"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// fullPhone finds a full Japanese mobile number in any common spelling.
var fullPhone = regexp.MustCompile(`(\+81[ -]?|0)[789]0[ -]?\d{4}[ -]?\d{4}`)

func csrfToken(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token in the page:\n%s", body)
	}
	return m[1]
}

func TestOverviewShowsHeldCampaignAndHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	inc, camp := f.openIncident(t)
	resp, body := f.get(t, "/", "Accept-Language", "en-US,en;q=0.9")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"Campaign " + itoa(camp) + " (outage, 15 mails) is waiting for approval.",
		`href="/incidents/` + itoa(inc.ID) + `"`,
		"au / UQ mobile / povo",
		">Approve</button>",
		">Open incident</button>",
		"https://www.au.com/information/rss",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	h := resp.Header
	for name, want := range map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"Content-Language":       "en",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
		t.Error("inline script or style in the page")
	}
	if strings.Contains(body, "??") {
		t.Errorf("an untranslated key: %s", body[strings.Index(body, "??")-40:strings.Index(body, "??")+40])
	}
}

func TestJapaneseByAcceptLanguageAndSwitch(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	f.openIncident(t)
	resp, body := f.get(t, "/", "Accept-Language", "ja,en;q=0.5")
	if resp.Header.Get("Content-Language") != "ja" || !strings.Contains(body, "承認待ち") || !strings.Contains(body, `<html lang="ja">`) {
		t.Fatalf("Accept-Language ja did not give Japanese: %s", resp.Header.Get("Content-Language"))
	}
	if !strings.Contains(body, ">Approve</button>") {
		t.Error("the Approve button must keep its label in Japanese too")
	}
	_, body = f.get(t, "/campaigns/1/approve", "Accept-Language", "ja")
	if want := "15 通のメールが送信されます（20 通/秒で1分以内）。"; !strings.Contains(body, want) {
		t.Errorf("Japanese confirmation lacks %q", want)
	}
	// The switch sets a cookie that wins over Accept-Language.
	c := f.client(true)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/lang?to=en&back="+url.QueryEscape("/users?q=x"), nil)
	req.Header.Set("Accept-Language", "ja")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/users" || resp.Header.Get("Content-Language") != "en" {
		t.Fatalf("after the switch: %s, language %q", resp.Request.URL, resp.Header.Get("Content-Language"))
	}
	// No open redirect.
	resp, _ = f.get(t, "/lang?to=ja&back=//evil.example/")
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("back=//evil.example redirected to %q", loc)
	}
}

func TestApproveThroughConfirmationSendsAndAudits(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true, send: true, users: 40})
	inc, camp := f.openIncident(t)
	_, page := f.get(t, "/campaigns/"+itoa(camp)+"/approve")
	if !strings.Contains(page, "20 mails will be sent, in under a minute at 20/s.") {
		t.Errorf("confirmation does not say what will happen:\n%s", page)
	}
	token := csrfToken(t, page)
	if f.smtp.Count() != 0 {
		t.Fatal("mail sent before approval")
	}
	form := url.Values{"csrf": {token}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/campaigns/"+itoa(camp)+"/approve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := f.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve POST = %d", resp.StatusCode)
	}
	if !f.smtp.WaitCount(20, 20*time.Second) {
		t.Fatalf("after approval %d of 20 mails arrived", f.smtp.Count())
	}
	_, body := f.get(t, "/incidents/"+itoa(inc.ID))
	for _, want := range []string{"console:local", "campaign.approve", "cli:test", "incident.open"} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page's audit trail lacks %q", want)
		}
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	_, camp := f.openIncident(t)
	_, page := f.get(t, "/campaigns/"+itoa(camp)+"/approve")
	token := csrfToken(t, page)
	post := func(form url.Values, hdr map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/campaigns/"+itoa(camp)+"/approve", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := f.client(false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"cross-site without token", url.Values{}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"cross-site with token", url.Values{"csrf": {token}}, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"origin only, no token", url.Values{}, map[string]string{"Origin": "https://evil.example"}},
		{"same-origin without token", url.Values{}, map[string]string{"Origin": f.srv.URL, "Sec-Fetch-Site": "same-origin"}},
		{"no browser headers, no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"x" + token}}, map[string]string{"Sec-Fetch-Site": "same-origin"}},
	}
	for _, tt := range tests {
		if got := post(tt.form, tt.hdr); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, got)
		}
	}
	c, err := f.svc.Campaign(context.Background(), camp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Campaign.State != carrierwatch.CampaignAwaitingApproval {
		t.Fatalf("a refused POST changed the campaign: %s", c.Campaign.State)
	}
	if got := post(url.Values{"csrf": {token}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); got != http.StatusSeeOther {
		t.Fatalf("a same-origin POST with the token: %d, want 303", got)
	}
}

func TestUsersFileAuth(t *testing.T) {
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	users := filepath.Join(dir, "console.htpasswd")
	os.WriteFile(users, []byte("# help desk\naoki:"+string(hash)+"\n"), 0o600)
	f := newFixture(t, fixtureOptions{auth: console.AuthConfig{UsersFile: users}})
	con := f.srv.Config.Handler.(*console.Server)
	do := func(user, pw string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/", nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range [][2]string{{"", ""}, {"aoki", "wrong"}, {"nobody", "correct horse"}} {
		resp := do(c[0], c[1])
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("user %q password %q: %d %q, want 401 with WWW-Authenticate Basic", c[0], c[1], resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if resp := do("aoki", "correct horse"); resp.StatusCode != http.StatusOK {
		t.Errorf("right password: %d", resp.StatusCode)
	}
	// SIGHUP re-reads the file: a new help-desk user can sign in, and a
	// broken file keeps the users read before.
	hash2, _ := bcrypt.GenerateFromPassword([]byte("battery staple"), bcrypt.MinCost)
	os.WriteFile(users, []byte("aoki:"+string(hash)+"\nsuzuki:"+string(hash2)+"\n"), 0o600)
	if got := do("suzuki", "battery staple").StatusCode; got != http.StatusUnauthorized {
		t.Errorf("before the reload: %d", got)
	}
	if err := con.ReloadUsers(); err != nil {
		t.Fatal(err)
	}
	if got := do("suzuki", "battery staple").StatusCode; got != http.StatusOK {
		t.Errorf("after the reload: %d", got)
	}
	os.WriteFile(users, []byte("garbage\n"), 0o600)
	if err := con.ReloadUsers(); err == nil {
		t.Error("a broken users file reloaded without an error")
	}
	if got := do("suzuki", "battery staple").StatusCode; got != http.StatusOK {
		t.Errorf("after a failed reload: %d, want the old users kept", got)
	}
	// A broken file is refused at start, naming the line.
	os.WriteFile(users, []byte("aoki:{SHA}abc\n"), 0o600)
	if _, err := console.LoadUsers(users); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("non-bcrypt line: err = %v", err)
	}
}

func TestTrustedProxyAuth(t *testing.T) {
	proxies := []netipPrefix{mustPrefix("127.0.0.1/32")}
	f := newFixture(t, fixtureOptions{requireApproval: true, auth: console.AuthConfig{TrustedProxies: proxies, Header: "X-Remote-User"}})
	inc, _ := f.openIncident(t)
	if resp, _ := f.get(t, "/"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no user header: %d, want 403", resp.StatusCode)
	}
	resp, body := f.get(t, "/incidents/"+itoa(inc.ID), "X-Remote-User", "suzuki@example.ac.jp")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "suzuki@example.ac.jp") {
		t.Fatalf("from the proxy: %d", resp.StatusCode)
	}
	token := csrfToken(t, body)
	form := url.Values{"csrf": {token}, "note": {"back, says the carrier"}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/incidents/"+itoa(inc.ID)+"/resolve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Remote-User", "suzuki@example.ac.jp")
	resp, err := f.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve = %d", resp.StatusCode)
	}
	_, body = f.get(t, "/incidents/"+itoa(inc.ID), "X-Remote-User", "suzuki@example.ac.jp")
	if !strings.Contains(body, "console:suzuki@example.ac.jp") || !strings.Contains(body, "incident.resolve") || !strings.Contains(body, "back, says the carrier") {
		t.Error("the resolution is not in the audit trail with its actor and note")
	}
}

func TestHelpDeskSearchAndMail(t *testing.T) {
	f := newFixture(t, fixtureOptions{send: true})
	_, _ = f.openIncident(t)
	if !f.smtp.WaitCount(15, 20*time.Second) {
		t.Fatalf("%d of 15 mails arrived", f.smtp.Count())
	}
	_, body := f.get(t, "/users?q=user0001")
	if !strings.Contains(body, `aria-label="Search users"`) {
		t.Error("the search field has no accessible name")
	}
	if !strings.Contains(body, "10 users found") {
		t.Errorf("search user0001: want 10 users (user00010–19)")
	}
	// One match goes straight to the user; their full addresses show there.
	resp, _ := f.get(t, "/users?q=private00014")
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/users/u00014") {
		t.Fatalf("single match: Location %q", loc)
	}
	// The number a user writes on the support form finds them too, and is
	// not shown back in full.
	for _, q := range []string{"090-8000-0014", "+81 90 8000 0014", "０９０８０００００１４"} {
		resp, body := f.get(t, "/users?q="+url.QueryEscape(q))
		if loc := resp.Header.Get("Location"); loc != "/users/u00014?q=" {
			t.Errorf("search %q: Location %q, body %s", q, loc, body)
		}
	}
	_, body = f.get(t, "/users?q="+url.QueryEscape("090-9999-0000"))
	if fullPhone.MatchString(html.UnescapeString(body)) || strings.Contains(body, "9999") {
		t.Errorf("a searched phone number is shown back in full")
	}
	_, body = f.get(t, "/users/u00014")
	body = html.UnescapeString(body)
	for _, want := range []string{"private00014@mail.example.net", "user00014@example.ac.jp", "+81 90-****-0014", "phone only", "sent", "/messages/"} {
		if !strings.Contains(body, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	msg := regexp.MustCompile(`href="/messages/(\d+)"`).FindStringSubmatch(body)
	if msg == nil {
		t.Fatal("no mail link")
	}
	_, body = f.get(t, "/messages/"+msg[1])
	if !strings.Contains(body, "au / UQ mobile / povo") || !strings.Contains(body, "private00014@mail.example.net") {
		t.Error("the mail page does not show the mail as received")
	}
	resp, html := f.get(t, "/messages/"+msg[1]+"/body.html")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(html, "<html") {
		t.Errorf("mail HTML: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// TestNoFullPhoneNumberOrAddressInPages walks every page and checks that no
// full phone number appears anywhere, and full addresses only on one
// user's help-desk pages.
func TestNoFullPhoneNumberOrAddressInPages(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	inc, camp := f.openIncident(t)
	pages := []string{"/", "/incidents", "/campaigns", "/incidents/" + itoa(inc.ID), "/campaigns/" + itoa(camp), "/campaigns/" + itoa(camp) + "/approve",
		"/campaigns/" + itoa(camp) + "/cancel", "/users?q=user", "/users?q=u0000", "/exposure", "/preview", "/users/u00014", "/users/u00003"}
	msgs, _ := f.svc.CampaignMessages(context.Background(), storePage(camp))
	for _, m := range msgs {
		pages = append(pages, "/messages/"+itoa(m.ID), "/messages/"+itoa(m.ID)+"/body.html")
	}
	for _, p := range pages {
		resp, body := f.get(t, p)
		body = html.UnescapeString(body) // "&#43;81" is "+81" on screen
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
			continue
		}
		if m := fullPhone.FindString(body); m != "" {
			t.Errorf("%s shows a full phone number %q", p, m)
		}
		// One user's pages may show their addresses; the previews show a
		// made-up sample user.
		onePerson := strings.HasPrefix(p, "/users/") || strings.HasPrefix(p, "/messages/") || p == "/preview"
		if !onePerson && regexp.MustCompile(`[a-z0-9]{2,}@(example\.ac\.jp|mail\.example\.net)`).MatchString(strings.ReplaceAll(body, "mfa-noreply@", "")) {
			t.Errorf("%s shows a full address: %s", p, regexp.MustCompile(`[a-z0-9]{2,}@(example\.ac\.jp|mail\.example\.net)`).FindString(body))
		}
	}
}

func TestCampaignPagePaginates(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true, users: 300})
	_, camp := f.openIncident(t)
	_, body := f.get(t, "/campaigns/"+itoa(camp))
	if n := strings.Count(body, `<tr><td>`); n < 50 || n > 60 {
		t.Errorf("first page lists %d rows, want 50 messages", n)
	}
	next := regexp.MustCompile(`after=(\d+)`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page")
	}
	_, body2 := f.get(t, "/campaigns/"+itoa(camp)+"?after="+next[1])
	if body2 == body || !strings.Contains(body2, "First page") {
		t.Error("the second page is not a different page")
	}
}

func TestCancelThroughConfirmation(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	_, camp := f.openIncident(t)
	_, page := f.get(t, "/campaigns/"+itoa(camp)+"/cancel")
	if !strings.Contains(page, "15 pending mails will not be sent.") || !strings.Contains(page, ">Cancel</button>") {
		t.Fatalf("cancel confirmation:\n%s", page)
	}
	form := url.Values{"csrf": {csrfToken(t, page)}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/campaigns/"+itoa(camp)+"/cancel", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client(true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c, _ := f.svc.Campaign(context.Background(), camp)
	if c.Campaign.State != carrierwatch.CampaignCancelled || c.Campaign.Counts.Cancelled != 15 {
		t.Fatalf("after cancel: %s %+v", c.Campaign.State, c.Campaign.Counts)
	}
}

func TestOpenIncidentByHand(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	_, body := f.get(t, "/incidents")
	form := url.Values{"csrf": {csrfToken(t, body)}, "carrier": {"docomo"}, "note": {"docomo says nothing yet"}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/incidents", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/incidents/") {
		t.Fatalf("open = %d %q", resp.StatusCode, loc)
	}
	_, body = f.get(t, loc)
	for _, want := range []string{"NTT docomo", "docomo says nothing yet", "console:local", "incident.open", "Incident 1 opened."} {
		if !strings.Contains(body, want) {
			t.Errorf("new incident page lacks %q", want)
		}
	}
	// An unknown carrier is a clear error, not a 500.
	form.Set("carrier", "pigeon")
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/incidents", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = f.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown carrier: %d, want 400", resp.StatusCode)
	}
}

func TestExposureAndPreview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	_, body := f.get(t, "/exposure")
	for _, want := range []string{"<svg", `class="phone-only"`, "au / UQ mobile / povo", "NTT docomo"} {
		if !strings.Contains(body, want) {
			t.Errorf("exposure lacks %q", want)
		}
	}
	_, body = f.get(t, "/preview")
	if n := strings.Count(body, `<iframe class="mail"`); n != 16 {
		t.Errorf("preview shows %d mails, want 16 (8 kinds×segments × 2 languages)", n)
	}
	resp, html := f.get(t, "/preview/outage/phone-only/ja")
	if resp.StatusCode != 200 || !strings.Contains(html, "au / UQ mobile / povo") {
		t.Errorf("preview HTML: %d", resp.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, p := range []string{"/incidents/999", "/campaigns/999", "/users/nobody", "/messages/999", "/campaigns/1/explode", "/nothing"} {
		if resp, _ := f.get(t, p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestRelayPausedAndRetryQueue(t *testing.T) {
	f := newFixture(t, fixtureOptions{send: true})
	f.smtp.FailData(451, "4.3.0 Mail server temporarily rejected message", 1000)
	_, camp := f.openIncident(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := f.get(t, "/")
		if strings.Contains(body, "sending is paused until") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview never said the relay is paused:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, body := f.get(t, "/campaigns/"+itoa(camp))
	for _, want := range []string{"Retry queue", "4.3.0 Mail server temporarily rejected message", `href="/users/u000`} {
		if !strings.Contains(body, want) {
			t.Errorf("campaign page lacks %q", want)
		}
	}
	if strings.Contains(body, "Nothing waits for a retry.") {
		t.Error("the retry queue is empty")
	}
}

func TestAttentionFailingSourceAndSync(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	state := `{"failures":3,"last_poll":"2026-12-01T00:00:00Z","last_error":"GET https://www.au.com/information/rss: 503 Service Unavailable","retry_at":"2099-01-01T00:00:00Z"}`
	if err := f.db.SaveSourceState(ctx, "kddi/www.au.com/information/rss", "kddi", "https://www.au.com/information/rss", []byte(state)); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RecordSync(ctx, store.SyncRecord{StartedAt: time.Now(), FinishedAt: time.Now(), Error: "graph: 403 Forbidden reading taro.yamada@example.ac.jp"}); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/")
	for _, want := range []string{
		"Source https://www.au.com/information/rss of au / UQ mobile / povo is failing: GET https://www.au.com/information/rss: 503 Service Unavailable",
		"failing (3)",
		"The last directory sync failed: graph: 403 Forbidden reading t***@example.ac.jp",
		"days</td>", // the next poll waits for the back-off
	} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "taro.yamada@") {
		t.Error("the sync error's address is shown in full")
	}
}

func TestPreparednessCampaignPages(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true})
	r, err := f.svc.PlanPreparedness(context.Background(), false, "cli:test")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/campaigns/" + itoa(r.CampaignID), "/campaigns/" + itoa(r.CampaignID) + "/approve", "/"} {
		resp, body := f.get(t, p)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "preparedness") {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	_, body := f.get(t, "/campaigns/"+itoa(r.CampaignID)+"/approve")
	if want := itoa(int64(r.New)) + " mails will be sent"; !strings.Contains(body, want) {
		t.Errorf("confirmation lacks %q", want)
	}
}

func TestConfirmationEstimatesMinutes(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true, users: 60, rate: 0.1})
	_, camp := f.openIncident(t)
	_, body := f.get(t, "/campaigns/"+itoa(camp)+"/approve")
	if want := "30 mails will be sent; about 5 minutes at 0.1/s."; !strings.Contains(body, want) {
		t.Errorf("confirmation lacks %q", want)
	}
}

func TestConfirmationWithExchangeLimits(t *testing.T) {
	f := newFixture(t, fixtureOptions{requireApproval: true, users: 60, limits: "rate_per_minute: 30, daily_limit: 20"})
	_, camp := f.openIncident(t)
	_, body := f.get(t, "/campaigns/"+itoa(camp)+"/approve")
	if want := "30 mails will be sent; about 1 day at 30/min. The daily limit of 20 mails holds the rest for the following days."; !strings.Contains(body, want) {
		t.Errorf("confirmation lacks %q", want)
	}
	if _, body := f.get(t, "/"); !strings.Contains(body, "(limit 30/min) · at most 20 a day") {
		t.Error("the overview does not show the relay's limits")
	}
}
