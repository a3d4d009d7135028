package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mmcdole/gofeed"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/internal/browsertest"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/phone"
	"github.com/carrierwatch/carrierwatch/publish"
	"github.com/carrierwatch/carrierwatch/store"
)

const publishBase = "https://www.example.ac.jp/mfa-notice/"

// A phone's viewport in CSS pixels (about an iPhone 14's).
const phoneWidth, phoneHeight = 390, 844

// publishConfig is writeConfig with the notice pages published into a
// folder of the test, and returns the config path and that folder.
func publishConfig(t *testing.T, feedURL, smtpAddr, notify string) (cfg, dir string) {
	t.Helper()
	cfg = writeConfig(t, feedURL, smtpAddr, "publish: {dir: public, base_url: \""+publishBase+"\"}\n")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "notify:\n", "notify:\n"+notify, 1)
	s = strings.Replace(s, `support_form: "https://support.example.ac.jp/mfa"`, `support_form: "https://support.example.ac.jp/mfa?carrier={carrier}&upn={upn}"`, 1)
	if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(filepath.Dir(cfg), "public")
}

// personalData lists every form of every test user's addresses, names and
// phone numbers that must never appear on a public page.
func personalData(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows[1:] {
		// id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods
		out = append(out, r[1], r[2], r[3])
		for _, a := range strings.Split(r[4], ";") {
			if a != "" {
				out = append(out, a)
			}
		}
		for _, p := range strings.Split(r[6], ";") {
			_, raw, ok := strings.Cut(p, ":")
			if !ok {
				continue
			}
			out = append(out, raw)
			e164, _, err := phone.Normalize(raw, "JP")
			if err != nil || e164 == "" {
				continue
			}
			national := strings.TrimPrefix(e164, "+81")
			out = append(out, e164, strings.TrimPrefix(e164, "+"), "0"+national, national, phone.Mask(e164))
			if len(national) == 10 {
				out = append(out, fmt.Sprintf("0%s-%s-%s", national[:2], national[2:6], national[6:]))
			}
		}
	}
	return out
}

// publishedFiles reads every file of the folder and checks that none is a
// leftover temporary file and each is a complete document.
func publishedFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left in the published folder: %s", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", e.Name(), info.Mode().Perm())
		}
		end := "</html>\n"
		if e.Name() == publish.AtomFile {
			end = "</feed>\n"
		}
		if !strings.HasSuffix(string(b), end) {
			t.Errorf("%s is not a complete document", e.Name())
		}
		files[e.Name()] = string(b)
	}
	return files
}

// jstTime formats t as the Japanese and English pages write it.
func jstTime(t time.Time) (ja, en string) {
	j := t.In(time.FixedZone("JST", 9*3600))
	return fmt.Sprintf("%d年%d月%d日 %d時%02d分", j.Year(), j.Month(), j.Day(), j.Hour(), j.Minute()), j.Format("2 January 2006, 15:04 MST")
}

func incidentFromStore(t *testing.T, cfg string, id int64) (updated, resolved time.Time) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(filepath.Dir(cfg), "state", store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, err := db.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc.UpdatedAt, inc.ResolvedAt
}

// TestPublishThroughOutage replays an outage, an update with ほぼ回復 and a
// 【復旧】 through a feed and reads the published folder after each.
func TestPublishThroughOutage(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "")
	private := personalData(t)

	steps := []struct {
		feed       string
		statusJA   string
		statusEN   string
		resolved   bool
		atomPrefix string
	}{
		{"publish-1-outage.rdf", "障害発生中", "Ongoing", false, "【障害発生中】"},
		{"publish-2-partial.rdf", "一部回復", "Partly recovered", false, "【一部回復】"},
		{"publish-3-recovered.rdf", "復旧", "Recovered", true, "【復旧】"},
	}
	for _, st := range steps {
		t.Run(st.feed, func(t *testing.T) {
			feeds.file.Store(st.feed)
			if _, err := runCmd(t, "once", "--config", cfg); err != nil {
				t.Fatal(err)
			}
			files := publishedFiles(t, dir)
			for _, name := range []string{"index.html", "index.en.html", "incident-1.html", "incident-1.en.html", "notices.atom"} {
				if _, ok := files[name]; !ok {
					t.Fatalf("%s not published; folder: %v", name, keys(files))
				}
			}
			updated, resolved := incidentFromStore(t, cfg, 1)
			if st.resolved != !resolved.IsZero() {
				t.Fatalf("incident resolved at %v after %s", resolved, st.feed)
			}
			updJA, updEN := jstTime(updated)
			ja, en := files["incident-1.html"], files["incident-1.en.html"]
			for _, w := range []string{`<html lang="ja">`, `status-` + map[bool]string{true: "recovered"}[st.resolved], ">" + st.statusJA,
				`<h2 id="another-way">1. 別の方法でサインインする</h2>`, `<h2 id="support">2. どの方法でもサインインできない場合</h2>`, `<h2 id="after-reset">3. リセットの後で`,
				"「問題がありますか? 別の方法でサインインする」", "最終更新: <time", updJA, "発生日時</th><td><time", "2022年7月2日 1時35分",
				`href="https://support.example.ac.jp/mfa?carrier=au&#43;%2F&#43;UQ&#43;mobile&#43;%2F&#43;povo&amp;upn="`} {
				if !strings.Contains(ja, w) {
					t.Errorf("incident-1.html lacks %q", w)
				}
			}
			// The feed is served from loopback, its links point to
			// carrier.example.jp: a link off the source's registrable
			// domain is not published (issue 9, item 7).
			if strings.Contains(ja, "carrier.example.jp") {
				t.Error("incident-1.html links to a site other than the source's")
			}
			for _, w := range []string{`<html lang="en">`, ">" + st.statusEN, `<h2 id="another-way">1. Sign in another way</h2>`, `<h2 id="support">2. If no method works</h2>`,
				`<h2 id="after-reset">3. After a reset`, "This page is updated as the situation changes.", "Last updated: <time", updEN, "Support form</a>"} {
				if !strings.Contains(en, w) {
					t.Errorf("incident-1.en.html lacks %q", w)
				}
			}
			if st.resolved {
				if !strings.Contains(ja, "今のうちに認証アプリかパスキーを登録してください") || !strings.Contains(en, "register an authenticator app or a passkey now") {
					t.Error("recovered page lacks the advice to register an app or passkey now")
				}
				resJA, _ := jstTime(resolved)
				if !strings.Contains(ja, "復旧日時</th><td><time") || !strings.Contains(ja, resJA) {
					t.Errorf("recovered page lacks the recovery time %s", resJA)
				}
				if !strings.Contains(files["index.html"], "最近の障害") {
					t.Error("index does not list the recovered incident as recent")
				}
			} else if !strings.Contains(files["index.html"], `href="`+publishBase+`incident-1.html"`) {
				t.Error("index does not link the current incident")
			}

			// Valid Atom, read by a feed parser and by encoding/xml.
			fp, err := gofeed.NewParser().ParseString(files["notices.atom"])
			if err != nil || fp.FeedType != "atom" || len(fp.Items) != 1 {
				t.Fatalf("notices.atom: %v %+v", err, fp)
			}
			it := fp.Items[0]
			if it.GUID != publishBase+"incident-1.html" || !strings.HasPrefix(it.Title, st.atomPrefix) || it.UpdatedParsed == nil || !it.UpdatedParsed.Equal(updated.Truncate(time.Second)) ||
				len(it.Authors) == 0 || it.Authors[0].Name != "IT Help" || it.Link != publishBase+"incident-1.html" {
				t.Errorf("atom entry %+v (updated %v)", it, it.UpdatedParsed)
			}
			var x struct {
				XMLName xml.Name
			}
			if err := xml.Unmarshal([]byte(files["notices.atom"]), &x); err != nil || x.XMLName.Space != "http://www.w3.org/2005/Atom" {
				t.Errorf("notices.atom: %v %v", err, x.XMLName)
			}

			// No personal data, no user counts, anywhere in the folder.
			for name, body := range files {
				for _, p := range private {
					if strings.Contains(body, p) {
						t.Errorf("%s contains personal data %q", name, p)
					}
				}
				if regexp.MustCompile(`\d+ (users|名|人)`).MatchString(body) {
					t.Errorf("%s carries a user count", name)
				}
			}
		})
	}

	// The mails link the incident page, in their language.
	var linked bool
	for _, m := range smtp.Messages() {
		body := mailBodies(t, m.Data)
		if strings.Contains(body, publishBase+"incident-1.html") || strings.Contains(body, publishBase+"incident-1.en.html") {
			linked = true
		}
	}
	if !linked {
		t.Error("no mail links the published incident page (notify.links.notice default)")
	}

	// carrierwatch publish rewrites a wiped folder from the database.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "publish", "--config", cfg)
	if err != nil || !strings.Contains(out, "published 1 incidents") {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	if files := publishedFiles(t, dir); !strings.Contains(files["incident-1.html"], "status-recovered") {
		t.Fatal("carrierwatch publish did not rewrite the incident page")
	}

	// The page at phone width in a real browser: three headings, nothing
	// wider than the screen.
	srv := httptest.NewServer(publish.Handler(dir))
	defer srv.Close()
	ctx := browsertest.New(t, browsertest.Options{Width: phoneWidth, Height: phoneHeight, Timeout: time.Minute})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct {
		path     string
		headings []string
	}{
		{"/incident-1.html", []string{"1. 別の方法でサインインする", "2. どの方法でもサインインできない場合", "3. リセットの後で: 認証アプリかパスキーを登録する"}},
		{"/incident-1.en.html", []string{"1. Sign in another way", "2. If no method works", "3. After a reset: register an authenticator app or passkey"}},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+page.path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("%s in chromium: %v", page.path, err)
		}
		h2, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("h2")).map(h => h.innerText.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil {
			t.Fatal(err)
		}
		scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		innerWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(h2, "|"); got != strings.Join(page.headings, "|") {
			t.Errorf("%s headings %q, want %q", page.path, h2, page.headings)
		}
		if lang == "" {
			t.Errorf("%s has no lang", page.path)
		}
		if innerWidth != phoneWidth || scrollWidth > innerWidth {
			t.Errorf("%s at phone width: page %d px wide in a %d px viewport", page.path, scrollWidth, innerWidth)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPublishWaitsForApproval: a campaign awaiting approval publishes
// nothing for its incident until an admin approves it.
func TestPublishWaitsForApproval(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "  require_approval: true\n")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	files := publishedFiles(t, dir)
	if _, ok := files["incident-1.html"]; ok {
		t.Fatal("incident page published while its campaign awaits approval")
	}
	for name, body := range files {
		if strings.Contains(body, "incident-1") {
			t.Errorf("%s mentions the incident awaiting approval", name)
		}
	}
	if _, err := runCmd(t, "campaigns", "approve", "1", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	// The approval publishes at once, before the next cycle.
	files = publishedFiles(t, dir)
	if _, ok := files["incident-1.html"]; !ok || !strings.Contains(files["index.html"], "incident-1.html") {
		t.Fatalf("incident not published after approval: %v", keys(files))
	}
}

// TestPublishListen: the daemon serves the folder read-only on its own
// listener, with nothing else there.
func TestPublishListen(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, _ := publishConfig(t, feeds.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	s := strings.Replace(string(raw), `publish: {dir: public,`, `publish: {listen: "127.0.0.1:0", dir: public,`, 1)
	s = strings.Replace(s, "level: warn", "level: info", 1)
	os.WriteFile(cfg, []byte(s), 0o600)
	c := startChild(t, "run", "--config", cfg)
	addr := waitLog(t, c, regexp.MustCompile(`serving the notice pages.* addr=(127\.0\.0\.1:\d+)`), 30*time.Second)[1]
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/incident-1.html")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident page not served; logs:\n%s", c.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for path, want := range map[string]int{"/": 200, "/notices.atom": 200, "/metrics": 404, "/healthz": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s on the notice listener: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post(base+"/index.html", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST on the notice listener: %d", resp.StatusCode)
	}
}

// mailBodies returns the decoded text of every part of a MIME message.
func mailBodies(t *testing.T, data []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var walk func(h textproto.MIMEHeader, r io.Reader)
	walk = func(h textproto.MIMEHeader, r io.Reader) {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, _ := io.ReadAll(r)
		out.Write(b)
	}
	walk(textproto.MIMEHeader(msg.Header), msg.Body)
	return out.String()
}

// TestDryRunPublishesNothing: a dry run leaves the public folder alone.
func TestDryRunPublishesNothing(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "")
	if out, err := runCmd(t, "once", "--dry-run", "--config", cfg); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the dry run touched the published folder: %v", err)
	}
}

// TestPublishRegionalFromDatabase: a regional incident with the carrier's
// stated start, as the store keeps it, is rewritten into the folder by
// `carrierwatch publish`: its area, its start, and a partial recovery.
func TestPublishRegionalFromDatabase(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "")
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(filepath.Dir(cfg), "state", store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	jst := time.FixedZone("JST", 9*3600)
	started := time.Date(2022, 7, 2, 1, 35, 0, 0, jst)
	for i, sig := range []store.Signal{
		{Verdict: store.VerdictOutage, Title: "一部エリアでau携帯電話サービスがご利用しづらい状況について", Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県", "富山県"}, StartedAt: started},
		{Verdict: store.VerdictNotResolved, Partial: true, Title: "【一部回復】一部エリアでau携帯電話サービスがご利用しづらい状況について", Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県"}},
	} {
		sig.CarrierID, sig.SourceID, sig.Hash, sig.Link = "kddi", "kddi/manual", fmt.Sprintf("h%d", i), "https://carrier.example.jp/info/network/pages/regional.html"
		sig.Key, sig.Thread = sig.Link, sig.Link
		if _, err := db.ApplySignal(ctx, sig, false); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if out, err := runCmd(t, "publish", "--config", cfg); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	files := publishedFiles(t, dir)
	ja, en := files["incident-1.html"], files["incident-1.en.html"]
	for _, w := range []string{"対象地域</th><td>石川県</td>", "一部回復", "発生日時</th><td><time", "2022年7月2日 1時35分"} {
		if !strings.Contains(ja, w) {
			t.Errorf("incident-1.html lacks %q", w)
		}
	}
	for _, w := range []string{"Area</th><td>石川県</td>", "Partly recovered", "Started</th>", "2 July 2022, 01:35 JST"} {
		if !strings.Contains(en, w) {
			t.Errorf("incident-1.en.html lacks %q", w)
		}
	}
	if strings.Contains(ja, "富山県") {
		t.Error("the page keeps an area the latest notice dropped")
	}
	if !strings.Contains(files["index.html"], "対象地域: 石川県") {
		t.Error("index lacks the area")
	}
}

// TestPublishRegionalAfterApproval: a regional notice opens an incident
// whose campaign waits for approval (notify.regional: approve); its page
// appears when an admin approves it, with the area.
func TestPublishRegionalAfterApproval(t *testing.T) {
	feeds := newFeedServer(t, "publish-regional.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	out, _ := runCmd(t, "campaigns", "list", "--config", cfg)
	if !strings.Contains(out, "awaiting_approval") {
		t.Fatalf("regional campaign not awaiting approval:\n%s", out)
	}
	files := publishedFiles(t, dir)
	if _, ok := files["incident-1.html"]; ok || strings.Contains(files["index.html"], "石川県") {
		t.Fatal("a regional incident awaiting approval was published")
	}
	if _, err := runCmd(t, "campaigns", "approve", "1", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	files = publishedFiles(t, dir)
	for name, want := range map[string]string{
		"incident-1.html": "対象地域</th><td>石川県", "incident-1.en.html": "Area</th><td>石川県", "index.html": "対象地域: 石川県",
	} {
		if !strings.Contains(files[name], want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	if !strings.Contains(files["incident-1.html"], "発生日時</th><td><time datetime=\"2022-07-02T01:35:00&#43;09:00\">") {
		t.Errorf("incident-1.html lacks the carrier's stated start")
	}
}

// TestPublishFailureNeverStopsMail: a publish folder that cannot be
// written is logged; the mails go out all the same.
func TestPublishFailureNeverStopsMail(t *testing.T) {
	feeds := newFeedServer(t, "publish-1-outage.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg, dir := publishConfig(t, feeds.URL, smtp.Addr, "")
	if err := os.WriteFile(dir, []byte("a file where the folder should be"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "once", "--config", cfg)
	if err != nil {
		t.Fatalf("once failed because the pages could not be written: %v\n%s", err, out)
	}
	if smtp.Count() == 0 {
		t.Fatal("no mail sent")
	}
	if !strings.Contains(out, "publishing the notice pages failed; retrying next cycle") {
		t.Errorf("the failure was not logged:\n%s", out)
	}
}
