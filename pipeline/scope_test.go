package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/pipeline"
)

// indexPage is a carrier's index page: each item a date and a link.
func indexPage(items ...string) []byte {
	var b strings.Builder
	b.WriteString(`<html><body><nav><ul><li><a href="/">ホーム</a></li><li>障害情報</li></ul></nav><main><ul class="news">`)
	for _, it := range items {
		b.WriteString(it)
	}
	b.WriteString(`</ul></main></body></html>`)
	return []byte(b.String())
}

func item(date time.Time, path, title string) string {
	return fmt.Sprintf(`<li><span>%s</span> <a href="%s">%s</a></li>`, date.Format("2006年1月2日"), path, title)
}

// withNotify installs e's config again with a notify section.
func withNotify(t *testing.T, e *pipeline.Engine, carrierYAML, notify string) {
	t.Helper()
	cfg, err := config.Parse([]byte("state_dir: /unused\ncarriers:\n" + carrierYAML + "\nmail: {from: \"IT <it@example.ac.jp>\"}\nnotify: " + notify + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.SetConfig(cfg)
}

// TestRegionalNationalAndThreads replays an index page through a first
// read of old notices, a regional outage (held for approval), a national
// outage (mailed), the regional recovery (ends the regional incident only),
// the national recovery, and a redesign of the page (a source error that
// changes nothing).
func TestRegionalNationalAndThreads(t *testing.T) {
	srv := newServer(t, "")
	today := time.Now()
	old := time.Date(2022, 7, 5, 0, 0, 0, 0, time.Local)
	history := []string{
		item(old, "/n/20220705.html", "【復旧】au携帯電話サービスがご利用しづらい状況について"),
		item(old, "/n/20220729.html", "7月2日に発生した通信障害について"),
		item(old, "https://ads.example.com/x", "通信障害時の備えに"),
	}
	regional := item(today, "/n/typhoon.html", "台風14号の影響により宮崎県、鹿児島県の一部エリアでご利用しづらい状況について")
	national := item(today, "/n/national.html", "全国でau携帯電話サービスがご利用しづらい状況について")
	regionalDone := item(today, "/n/typhoon-2.html", "【復旧】台風14号の影響により宮崎県、鹿児島県の一部エリアでご利用しづらい状況について")
	nationalDone := item(today, "/n/national.html", "【復旧】全国でau携帯電話サービスがご利用しづらい状況について")
	carrier := fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: page, url: "%s/src", selector: "main", items: "li"}]`, srv.URL)
	e, rec := engine(t, carrier)
	ctx := context.Background()
	poll := func(body []byte) *pipeline.OnceResult {
		t.Helper()
		srv.body.Store(body)
		res, err := e.Once(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// A fresh install reads a list of old notices and a current regional outage.
	res := poll(indexPage(append([]string{regional}, history...)...))
	if len(res.Poll.Opened) != 1 || res.Poll.Opened[0].Scope != carrierwatch.ScopeRegional {
		t.Fatalf("first read opened %+v, want the regional outage only", res.Poll.Opened)
	}
	if n := len(rec.mails); n != 0 {
		t.Fatalf("%d mails for a regional outage, want it held for approval", n)
	}
	camps, _ := e.Store.Campaigns(ctx)
	if len(camps) != 1 || camps[0].State != carrierwatch.CampaignAwaitingApproval {
		t.Fatalf("campaigns %+v, want one awaiting approval", camps)
	}

	res = poll(indexPage(append([]string{national, regional}, history...)...))
	if len(res.Poll.Opened) != 1 || res.Poll.Opened[0].Scope != carrierwatch.ScopeNational {
		t.Fatalf("opened %+v, want the national outage", res.Poll.Opened)
	}
	if got := rec.count(carrierwatch.KindOutage); got != 3 {
		t.Fatalf("outage mails = %d, want 3 for the national outage", got)
	}

	res = poll(indexPage(append([]string{regionalDone, national, regional}, history...)...))
	if len(res.Poll.Resolved) != 1 || res.Poll.Resolved[0].Scope != carrierwatch.ScopeRegional {
		t.Fatalf("resolved %+v, want the regional incident only", res.Poll.Resolved)
	}
	if open, _ := e.Store.Incidents(ctx, true); len(open) != 1 || open[0].Scope != carrierwatch.ScopeNational {
		t.Fatalf("open %+v, want the national incident still open", open)
	}
	if got := rec.count(carrierwatch.KindResolved); got != 0 {
		t.Fatalf("%d resolved mails before the national recovery", got)
	}

	res = poll(indexPage(append([]string{regionalDone, nationalDone, regional}, history...)...))
	if len(res.Poll.Resolved) != 1 || res.Poll.Resolved[0].Scope != carrierwatch.ScopeNational {
		t.Fatalf("resolved %+v, want the national incident", res.Poll.Resolved)
	}
	if got := rec.count(carrierwatch.KindResolved); got != 3 {
		t.Fatalf("resolved mails = %d, want 3", got)
	}

	// The page is redesigned: items without links or dates.
	srv.body.Store([]byte(`<html><body><main><ul><li>障害情報</li><li>【障害】通信障害が発生しています</li></ul></main></body></html>`))
	r2, err := e.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Failed != 1 || len(r2.Opened)+len(r2.Resolved) != 0 {
		t.Fatalf("redesigned page: %+v, want a source error and nothing opened or resolved", r2)
	}
	states, _ := e.Store.SourceStates(ctx)
	for _, b := range states {
		if !strings.Contains(string(b), "source structure changed") || !strings.Contains(string(b), `"broken":true`) {
			t.Errorf("source state %s lacks the structure error", b)
		}
	}
}

// TestHomeRegionsMakeARegionalOutageNational: an outage in one of the
// organisation's own areas is mailed like a national one.
func TestHomeRegionsMakeARegionalOutageNational(t *testing.T) {
	srv := newServer(t, "")
	carrier := fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: page, url: "%s/src", items: "li"}]`, srv.URL)
	e, rec := engine(t, carrier)
	withNotify(t, e, carrier, "{home_regions: [関東]}")
	srv.body.Store(indexPage(item(time.Now(), "/n/1.html", "神奈川県の一部エリアでau携帯電話サービスがご利用しづらい状況について")))
	if _, err := e.Once(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(carrierwatch.KindOutage); got != 3 {
		t.Fatalf("outage mails = %d, want 3: 神奈川県 is in home region 関東", got)
	}
}

// TestRegionalIgnore: notify.regional: ignore opens nothing for a regional
// outage; a notice published after the fact opens nothing either.
func TestRegionalIgnore(t *testing.T) {
	srv := newServer(t, "")
	carrier := fmt.Sprintf(`  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: page, url: "%s/src", items: "li"}]`, srv.URL)
	e, rec := engine(t, carrier)
	withNotify(t, e, carrier, "{regional: ignore}")
	srv.body.Store(indexPage(
		item(time.Now(), "/n/1.html", "石川県の一部エリアでご利用しづらい状況について"),
		`<li><span>`+time.Now().Format("2006年1月2日")+`</span> <a href="/n/2.html">携帯電話サービスについて</a> 本日13時21分頃、全国で携帯電話サービスがご利用しづらい状況が発生しました。現在は復旧しております。</li>`,
	))
	res, err := e.Once(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Poll.Opened) != 0 || len(rec.mails) != 0 {
		t.Fatalf("opened %+v, %d mails; want nothing", res.Poll.Opened, len(rec.mails))
	}
}
