package graph

import "testing"

// TestDecodePhonesRegion: a number registered without a country code is
// read in the configured default region, JP when none is set.
func TestDecodePhonesRegion(t *testing.T) {
	str := func(s string) *string { return &s }
	body := func(n string) map[string]any {
		return map[string]any{"value": []any{map[string]any{"phoneNumber": str(n), "phoneType": str("mobile")}}}
	}
	tests := []struct {
		region, number, want string
	}{
		{Config{}.region(), "090-1234-5678", "+819012345678"},
		{Config{DefaultRegion: "GB"}.region(), "07400 123456", "+447400123456"},
		{"GB", "+81 9012345678", "+819012345678"},
	}
	for _, tt := range tests {
		got, _, err := decodePhones(body(tt.number), tt.region)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].E164 != tt.want {
			t.Errorf("%s in %s: %+v, want E.164 %s", tt.number, tt.region, got, tt.want)
		}
	}
}
