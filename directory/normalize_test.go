package directory

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestNormalizePhones(t *testing.T) {
	in := []carrierwatch.Phone{
		{Type: carrierwatch.PhoneMobile, Raw: "+81 09081234567"},
		{Type: carrierwatch.PhoneAlternateMobile, Raw: "080-2555-6666", E164: "stale"},
		{Type: carrierwatch.PhoneOffice, Raw: "+81 3-5800-1234 x77"},
		{Type: carrierwatch.PhoneOffice, Raw: "+81 35800"},
		{Type: carrierwatch.PhoneMobile, Raw: ""},
	}
	want := []carrierwatch.Phone{
		{Type: carrierwatch.PhoneMobile, Raw: "+81 09081234567", E164: "+819081234567"},
		{Type: carrierwatch.PhoneAlternateMobile, Raw: "080-2555-6666", E164: "+818025556666"},
		{Type: carrierwatch.PhoneOffice, Raw: "+81 3-5800-1234 x77", E164: "+81358001234", Extension: "77"},
		{Type: carrierwatch.PhoneOffice, Raw: "+81 35800"},
		{Type: carrierwatch.PhoneMobile, Raw: ""},
	}
	out, problems := NormalizePhones(in, "JP")
	if got, want := len(out), len(want); got != want {
		t.Fatalf("%d phones, want %d", got, want)
	}
	for i := range want {
		if got, want := out[i], want[i]; got != want {
			t.Errorf("phones[%d] = %+v, want %+v", i, got, want)
		}
	}
	if got, want := in[1].E164, "stale"; got != want {
		t.Errorf("input modified: E164 = %q", got)
	}
	wantProblems := []string{
		"office phone: normalize phone ***00: invalid phone number: too short for JP (+81): kept without E.164",
		"mobile phone: normalize phone ***: invalid phone number: empty: kept without E.164",
	}
	if got, want := strings.Join(problems, "\n"), strings.Join(wantProblems, "\n"); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestNormalizePhonesNil(t *testing.T) {
	out, problems := NormalizePhones(nil, "JP")
	if out != nil || problems != nil {
		t.Errorf("NormalizePhones(nil) = %v, %v", out, problems)
	}
}
