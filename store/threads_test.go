package store_test

import (
	"context"
	"testing"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/store"
)

// TestNoticeThreads: an incident belongs to the notice thread that opened
// it. A carrier has a national and two regional incidents open at once;
// each resolves through its own thread, never through another area's
// recovery; a national notice from another source joins the national
// incident; a carrier-wide recovery ends the national one only.
func TestNoticeThreads(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	national, regional := carrierwatch.ScopeNational, carrierwatch.ScopeRegional
	type step struct {
		name                    string
		sig                     store.Signal
		opened, updated, solved bool
		incident                int // which incident (1-based, in opening order) it touched
	}
	sig := func(src, hash, key, thread, verdict string, scope carrierwatch.Scope, areas ...string) store.Signal {
		return store.Signal{CarrierID: "kddi", SourceID: src, Hash: hash, Key: key, Title: thread, ThreadTitle: thread,
			Verdict: verdict, Scope: scope, Areas: areas, Thread: key}
	}
	steps := []step{
		{"typhoon in Kyushu opens a regional incident",
			sig("kddi/0", "t1", "https://www.au.com/n/typhoon", "台風14号の影響によるau携帯電話サービスへの影響について", store.VerdictOutage, regional, "宮崎県", "鹿児島県"), true, false, false, 1},
		{"snow in Niigata opens a second regional incident",
			sig("kddi/0", "s1", "https://www.au.com/n/snow", "新潟県の一部エリアでご利用しづらい状況について", store.VerdictOutage, regional, "新潟県"), true, false, false, 2},
		{"a national outage opens a third",
			sig("kddi/0", "n1", "https://www.au.com/n/national", "au携帯電話サービスがご利用しづらい状況について", store.VerdictOutage, national), true, false, false, 3},
		{"the same national outage on kddi.com joins it",
			sig("kddi/1", "n2", "https://www.kddi.com/x", "通信障害の発生について", store.VerdictOutage, national), false, true, false, 3},
		{"the snow notice edited in place with a new date mark updates its own",
			sig("kddi/0", "s2", "https://www.au.com/n/snow", "新潟県の一部エリアでご利用しづらい状況について", store.VerdictNotResolved, regional, "新潟県"), false, true, false, 2},
		{"the typhoon recovery, republished under a new link with the same title, resolves the typhoon only",
			sig("kddi/0", "t2", "https://www.au.com/n/typhoon-2", "台風14号の影響によるau携帯電話サービスへの影響について", store.VerdictResolved, regional, "宮崎県", "鹿児島県"), false, false, true, 1},
		{"a recovery of another area (not open) resolves nothing",
			sig("kddi/0", "o1", "https://www.au.com/n/other", "石川県の一部エリアでご利用しづらい状況について", store.VerdictResolved, regional, "石川県"), false, false, false, 0},
		{"a carrier-wide recovery ends the national incident, not the snow",
			sig("kddi/1", "n3", "https://www.kddi.com/y", "【復旧】通信障害について", store.VerdictResolved, national), false, false, true, 3},
	}
	var ids []int64
	for _, st := range steps {
		out, err := db.ApplySignal(ctx, st.sig, false)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if out.Opened != st.opened || out.Updated != st.updated || out.Resolved != st.solved {
			t.Errorf("%s: opened=%v updated=%v resolved=%v", st.name, out.Opened, out.Updated, out.Resolved)
		}
		if out.Opened {
			ids = append(ids, out.Incident.ID)
		}
		if st.incident > 0 && (out.Incident == nil || out.Incident.ID != ids[st.incident-1]) {
			t.Errorf("%s: touched %+v, want incident #%d", st.name, out.Incident, st.incident)
		}
	}
	open, err := db.Incidents(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != ids[1] {
		t.Fatalf("open incidents = %+v, want only the snow incident %d", open, ids[1])
	}
	if got := open[0]; got.Scope != regional || len(got.Areas) != 1 || got.Areas[0] != "新潟県" {
		t.Errorf("snow incident scope = %s %v", got.Scope, got.Areas)
	}
}

// TestNoOpen: a notice that may not open an incident (published after the
// fact) opens nothing, but still updates its own thread.
func TestNoOpen(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	out, err := db.ApplySignal(ctx, store.Signal{CarrierID: "kddi", SourceID: "kddi/0", Hash: "a", Key: "k", Verdict: store.VerdictOutage, NoOpen: true}, false)
	if err != nil || out.Opened || out.Incident != nil {
		t.Fatalf("no-open outage: %+v %v", out, err)
	}
	if open, _ := db.Incidents(ctx, true); len(open) != 0 {
		t.Fatalf("opened %+v", open)
	}
}

// TestScopeOnlyWidens: a national outage's update naming areas stays
// national; a national recovery from another notice ends a regional
// incident that named no place (「一部の地域で…」), not one that did.
func TestScopeOnlyWidens(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	apply := func(s store.Signal) store.Outcome {
		t.Helper()
		s.CarrierID, s.SourceID = "softbank", "softbank/0"
		out, err := db.ApplySignal(ctx, s, false)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	nat := apply(store.Signal{Hash: "n1", Key: "k/n", Verdict: store.VerdictOutage, Thread: "k/n", ThreadTitle: "障害"})
	up := apply(store.Signal{Hash: "n2", Key: "k/n", Verdict: store.VerdictNotResolved, Thread: "k/n", ThreadTitle: "障害",
		Scope: carrierwatch.ScopeRegional, Areas: []string{"東日本"}})
	if up.Incident.Scope != carrierwatch.ScopeNational || up.ScopeChanged {
		t.Fatalf("national incident after a regional update: %s changed=%v", up.Incident.Scope, up.ScopeChanged)
	}
	vague := apply(store.Signal{Hash: "v1", Key: "k/v", Verdict: store.VerdictOutage, Thread: "k/v", ThreadTitle: "一部の地域で発生中",
		Scope: carrierwatch.ScopeRegional, Areas: []string{store.AreaSomewhere}})
	named := apply(store.Signal{Hash: "r1", Key: "k/r", Verdict: store.VerdictOutage, Thread: "k/r", ThreadTitle: "石川県",
		Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県"}})
	if !vague.Opened || !named.Opened {
		t.Fatal("regional incidents did not open")
	}
	end := apply(store.Signal{Hash: "x", Key: "k/x", Verdict: store.VerdictResolved, Thread: "k/x", ThreadTitle: "【復旧】一部の携帯電話サービス"})
	if !end.Resolved || end.Incident.ID != nat.Incident.ID || len(end.AlsoResolved) != 1 || end.AlsoResolved[0].ID != vague.Incident.ID {
		t.Fatalf("carrier-wide recovery: %+v", end)
	}
	open, _ := db.Incidents(ctx, true)
	if len(open) != 1 || open[0].ID != named.Incident.ID {
		t.Fatalf("open %+v, want only the 石川県 incident", open)
	}
}

// TestManualBesideRegional: an admin's declaration of a carrier outage is
// not answered by a regional incident that happens to be open.
func TestManualBesideRegional(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	reg, err := db.ApplySignal(ctx, store.Signal{CarrierID: "kddi", SourceID: "kddi/0", Hash: "r", Key: "k", Verdict: store.VerdictOutage,
		Thread: "k", Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県"}}, false)
	if err != nil || !reg.Opened {
		t.Fatalf("regional: %+v %v", reg, err)
	}
	inc, created, err := db.OpenIncident(ctx, "kddi", "全国で通話できない", "")
	if err != nil || !created || inc.ID == reg.Incident.ID || inc.Scope != carrierwatch.ScopeNational {
		t.Fatalf("manual: %+v created=%v %v", inc, created, err)
	}
	again, created, err := db.OpenIncident(ctx, "kddi", "again", "")
	if err != nil || created || again.ID != inc.ID {
		t.Fatalf("second declaration: %+v created=%v %v", again, created, err)
	}
}
