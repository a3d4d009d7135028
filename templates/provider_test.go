package templates

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

// providerSample is sample's mail for a carrier that covers every phone
// (match.all_phones): a telephony provider sending the sign-in texts and
// calls.
func providerSample(lang string, c Combination) Data {
	d := sample(lang, c)
	d.CarrierName, d.AllPhones = "Soprano", true
	d.IncidentTitle, d.IncidentURL = "SMS delivery delays in Japan", "https://status.example.com/incidents/abc"
	if c.Segment == carrierwatch.SegmentOtherPhone {
		// all_phones leaves no other phone; the template still must not
		// speak of "that number's carrier".
		d.OtherPhones = []string{"+81 80-****-2222"}
	}
	return d
}

func TestProviderGolden(t *testing.T) {
	r := mustNew(t, "")
	for _, lang := range Languages {
		for _, c := range Combinations() {
			if c.Kind == carrierwatch.KindPreparedness {
				continue
			}
			name := "provider-" + string(c.Kind) + "-" + string(c.Segment) + "." + lang
			t.Run(name, func(t *testing.T) {
				subject, text, html, err := r.Render(providerSample(lang, c))
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				checkGolden(t, name+".txt", "Subject: "+subject+"\n\n"+text)
				checkGolden(t, name+".html", html)
			})
		}
	}
}

// TestProviderWording: an all_phones carrier's outage and resolved mails
// say codes and calls may not arrive whatever the user's mobile carrier,
// and never "if your phone is on …"; a normal carrier keeps its wording.
func TestProviderWording(t *testing.T) {
	r := mustNew(t, "")
	provider := map[string]map[carrierwatch.Kind]string{
		"ja": {
			carrierwatch.KindOutage:   "お使いの携帯電話会社にかかわらず、サインイン時の SMS 認証コードや音声通話が届かず、サインインできない場合があります。",
			carrierwatch.KindResolved: "サインイン時の SMS 認証コードや音声通話を送信するサービス (Soprano) の障害は復旧しました。",
		},
		"en": {
			carrierwatch.KindOutage:   "Whatever your mobile carrier, the SMS verification codes and voice calls for signing in may not reach you",
			carrierwatch.KindResolved: "The outage of Soprano, the service that delivers the text messages and calls for sign-in verification, is over.",
		},
	}
	normal := map[string]map[carrierwatch.Kind]string{
		"ja": {
			carrierwatch.KindOutage:   "お使いの携帯電話が au / UQ mobile / povo の回線の場合、多要素認証の SMS や音声通話が届かず",
			carrierwatch.KindResolved: "au / UQ mobile / povo の通信障害は復旧しました。",
		},
		"en": {
			carrierwatch.KindOutage:   "If your phone is on au / UQ mobile / povo, the text messages (SMS) and calls used to verify your sign-in may not reach you",
			carrierwatch.KindResolved: "The au / UQ mobile / povo outage is over.",
		},
	}
	// What a provider's mail must not say: that the user's own line or
	// carrier decides.
	carrierBound := map[string][]string{
		"ja": {"の回線", "携帯電話が Soprano", "通信障害"},
		"en": {"phone is on", "number is on", "is having a network outage"},
	}
	for _, lang := range Languages {
		for _, c := range Combinations() {
			if c.Kind == carrierwatch.KindPreparedness {
				continue
			}
			t.Run(lang+"/"+string(c.Kind)+"/"+string(c.Segment), func(t *testing.T) {
				_, text, html, err := r.Render(providerSample(lang, c))
				if err != nil {
					t.Fatal(err)
				}
				for part, body := range map[string]string{"text": text, "html": html} {
					if !strings.Contains(body, provider[lang][c.Kind]) {
						t.Errorf("provider %s part lacks %q:\n%s", part, provider[lang][c.Kind], body)
					}
					for _, bad := range carrierBound[lang] {
						if strings.Contains(strings.ToLower(body), strings.ToLower(bad)) {
							t.Errorf("provider %s part says %q:\n%s", part, bad, body)
						}
					}
				}
				_, text, html, err = r.Render(sample(lang, c))
				if err != nil {
					t.Fatal(err)
				}
				for part, body := range map[string]string{"text": text, "html": html} {
					if !strings.Contains(body, normal[lang][c.Kind]) {
						t.Errorf("normal carrier's %s part lacks %q:\n%s", part, normal[lang][c.Kind], body)
					}
					if strings.Contains(body, provider[lang][c.Kind]) {
						t.Errorf("normal carrier's %s part has the provider wording", part)
					}
				}
			})
		}
	}
}

// TestProviderFlagSurvivesTheOutbox: the flag is frozen into the message
// data when the mail is planned and read back for the resolved follow-up.
func TestProviderFlagSurvivesTheOutbox(t *testing.T) {
	m := &carrierwatch.Message{ID: 1, Kind: carrierwatch.KindResolved, Segment: carrierwatch.SegmentPhoneOnly, Lang: "en",
		Data: []byte(`{"upn":"a@example.org","carrier_name":"Soprano","all_phones":true}`)}
	d, err := MessageData(m)
	if err != nil {
		t.Fatal(err)
	}
	if !d.AllPhones {
		t.Fatalf("AllPhones = false after MessageData(%s)", m.Data)
	}
	m.Data = []byte(`{"upn":"a@example.org","carrier_name":"au"}`)
	if d, err = MessageData(m); err != nil || d.AllPhones {
		t.Fatalf("message data without all_phones: AllPhones = %v, err %v; want false", d.AllPhones, err)
	}
}
