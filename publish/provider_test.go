package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// providerNotices are a telephony provider's outage (a carrier with
// match.all_phones), open and resolved, next to a normal carrier's.
func providerNotices() []Notice {
	opened := time.Date(2027, 3, 2, 9, 10, 0, 0, jst)
	inc := func(id int64, state carrierwatch.IncidentState, resolved time.Time) *carrierwatch.Incident {
		updated := opened.Add(time.Hour)
		if !resolved.IsZero() {
			updated = resolved
		}
		return &carrierwatch.Incident{
			ID: id, CarrierID: "soprano", State: state, Title: "SMS delivery delays in Japan",
			URL: "https://status.example.com/incidents/abc", OpenedAt: opened, UpdatedAt: updated, ResolvedAt: resolved,
			Scope: carrierwatch.ScopeNational,
		}
	}
	return []Notice{
		{Incident: inc(7, carrierwatch.IncidentOpen, time.Time{}), CarrierName: "Soprano", AllPhones: true},
		{Incident: inc(8, carrierwatch.IncidentResolved, opened.Add(5*time.Hour)), CarrierName: "Soprano", AllPhones: true},
		sampleNotices()[0],
	}
}

// TestProviderPages: a provider's page says codes and calls may not
// arrive whatever the reader's mobile carrier, never "if your phone is on
// …"; a normal carrier's page keeps its wording. The pages and the feed
// are kept as golden files.
func TestProviderPages(t *testing.T) {
	p, dir := newPublisher(t, &notices{ns: providerNotices()}, "https://www.example.ac.jp/mfa-notice/")
	if _, err := p.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{IncidentFile(7, "ja"), IncidentFile(7, "en"), IncidentFile(8, "ja"), IncidentFile(8, "en"), AtomFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("provider", name), b)
	}
	tests := []struct {
		file      string
		want, not []string
	}{
		{IncidentFile(7, "ja"), []string{"サインイン時の SMS 認証コードや音声通話を送信するサービス (Soprano) で障害が発生しています",
			"お使いの携帯電話会社にかかわらず、サインイン時の SMS 認証コードや音声通話が届かず、サインインできない場合があります。"},
			[]string{"の回線", "通信障害"}},
		{IncidentFile(7, "en"), []string{"Soprano, the service that delivers the text messages (SMS) and calls for sign-in verification, has an outage",
			"Whatever your mobile carrier, the SMS verification codes and voice calls of multi-factor sign-in may not arrive"},
			[]string{"phone is on"}},
		{IncidentFile(8, "ja"), []string{"<strong>Soprano の障害は復旧しました。</strong>"}, []string{"の回線", "通信障害"}},
		{IncidentFile(8, "en"), []string{"outage is over"}, []string{"phone is on"}},
		{IncidentFile(1, "ja"), []string{"au / UQ mobile / povo で通信障害が発生しています", "お使いの携帯電話が au / UQ mobile / povo の回線の場合"},
			[]string{"携帯電話会社にかかわらず"}},
		{IncidentFile(1, "en"), []string{"If your phone is on au / UQ mobile / povo, the text messages and calls"}, []string{"Whatever your mobile carrier"}},
		{AtomFile, []string{"【障害発生中】Soprano の障害による多要素認証", "お使いの携帯電話会社にかかわらず"}, []string{"Soprano の通信障害"}},
	}
	for _, tt := range tests {
		got := read(t, dir, tt.file)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q", tt.file, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("%s has %q", tt.file, w)
			}
		}
	}
}
