package notifier_test

import (
	"slices"
	"testing"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
)

func ph(t carrierwatch.PhoneType, e164 string) carrierwatch.Phone {
	return carrierwatch.Phone{Type: t, Raw: e164, E164: e164}
}

// coverPrefix covers numbers starting with any of the prefixes.
func coverPrefix(prefixes ...string) notifier.Coverage {
	return func(e164 string) bool {
		for _, p := range prefixes {
			if len(e164) >= len(p) && e164[:len(p)] == p {
				return true
			}
		}
		return false
	}
}

func TestAssess(t *testing.T) {
	cover := coverPrefix("+81908", "+81802")
	tests := []struct {
		name     string
		user     carrierwatch.User
		affected bool
		segment  carrierwatch.Segment
	}{
		{"only an affected mobile is phone-only",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819081234567")}, Methods: []string{"mobilePhone"}}, true, carrierwatch.SegmentPhoneOnly},
		{"authenticator app makes app",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819081112222")}, Methods: []string{"mobilePhone", "microsoftAuthenticatorPush"}}, true, carrierwatch.SegmentApp},
		{"passkey makes app",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+818029871234")}, Methods: []string{"mobilePhone", "passKeyDeviceBound"}}, true, carrierwatch.SegmentApp},
		{"unaffected alternate makes other-phone",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+818025556666"), ph("alternateMobile", "+819031234567")}, Methods: []string{"mobilePhone", "alternateMobilePhone"}}, true, carrierwatch.SegmentOtherPhone},
		{"office landline makes other-phone",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819081234567"), ph("office", "+81358001234")}, Methods: []string{"mobilePhone", "officePhone"}}, true, carrierwatch.SegmentOtherPhone},
		{"email (SSPR) does not count",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819087654321")}, Methods: []string{"mobilePhone", "email", "securityQuestion", "temporaryAccessPass"}}, true, carrierwatch.SegmentPhoneOnly},
		{"unknown method does not count",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819087654321")}, Methods: []string{"mobilePhone", "carrierPigeon"}}, true, carrierwatch.SegmentPhoneOnly},
		{"two affected phones are still phone-only",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819081234567"), ph("alternateMobile", "+818021112222")}}, true, carrierwatch.SegmentPhoneOnly},
		{"unparsable other number is no way in",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819081234567"), {Type: "alternateMobile", Raw: "12"}}}, true, carrierwatch.SegmentPhoneOnly},
		{"other range is not affected",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+819031239999")}}, false, ""},
		{"no phone is not affected",
			carrierwatch.User{Methods: []string{"microsoftAuthenticatorPush"}}, false, ""},
		{"+1 number is not affected",
			carrierwatch.User{Phones: []carrierwatch.Phone{ph("mobile", "+14255550123")}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := notifier.Assess(&tt.user, cover, &notifier.MethodLog{}, nil)
			if got, want := a.Affected, tt.affected; got != want {
				t.Fatalf("affected = %v, want %v", got, want)
			}
			if got, want := a.Segment, tt.segment; got != want {
				t.Fatalf("segment = %q, want %q", got, want)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	u := &carrierwatch.User{Mail: "a@example.ac.jp", AlternateEmails: []string{"a@mail.example.com", "A@example.ac.jp"}}
	tests := []struct {
		deliverTo []string
		want      []string
	}{
		{[]string{"alternate", "primary"}, []string{"a@mail.example.com", "A@example.ac.jp"}},
		{[]string{"primary", "alternate"}, []string{"a@example.ac.jp", "a@mail.example.com"}},
		{[]string{"primary"}, []string{"a@example.ac.jp"}},
	}
	for _, tt := range tests {
		if got := notifier.Addresses(u, tt.deliverTo); !slices.Equal(got, tt.want) {
			t.Errorf("Addresses(%v) = %v, want %v", tt.deliverTo, got, tt.want)
		}
	}
	if got := notifier.Addresses(&carrierwatch.User{}, []string{"alternate", "primary"}); len(got) != 0 {
		t.Errorf("user without addresses: %v", got)
	}
}
