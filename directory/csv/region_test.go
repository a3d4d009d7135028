package csv

import (
	"context"
	"testing"
)

// TestDefaultRegion: numbers without a country code are read in the
// region New was given (directory.default_region), JP when none.
func TestDefaultRegion(t *testing.T) {
	tests := []struct {
		region, number, want string
	}{
		{"", "090-1234-5678", "+819012345678"},
		{"JP", "090-1234-5678", "+819012345678"},
		{"GB", "07400 123456", "+447400123456"},
		{"JP", "+44 7400 123456", "+447400123456"},
	}
	for _, tt := range tests {
		t.Run(tt.region+" "+tt.number, func(t *testing.T) {
			path := writeFile(t, header+"9001,a@example.ac.jp,A,a@example.ac.jp,,,mobile:"+tt.number+",mobilePhone\n")
			up, err := New(path, tt.region, nil).Fetch(context.Background(), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := up.Auth[0].Phones[0].E164; got != tt.want {
				t.Errorf("%s in %q: E.164 %q, want %q", tt.number, tt.region, got, tt.want)
			}
		})
	}
}
