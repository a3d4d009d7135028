package service

import (
	"testing"
	"time"
)

func TestInterval(t *testing.T) {
	now := time.Date(2022, 7, 2, 1, 35, 0, 0, time.Local) // a Saturday
	tests := []struct {
		name, spec string
		want       time.Duration
		wantErr    bool
	}{
		{"every minute", "@every 1m", time.Minute, false},
		{"every six hours", "@every 6h", 6 * time.Hour, false},
		{"hourly", "@hourly", time.Hour, false},
		{"five-field every 5 min", "*/5 * * * *", 5 * time.Minute, false},
		{"weekdays at nine: the weekend gap", "0 9 * * 1-5", 72 * time.Hour, false},
		{"not a schedule", "sometimes", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := interval(tt.spec, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("interval(%q) error = %v, want error %v", tt.spec, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("interval(%q) = %s, want %s", tt.spec, got, tt.want)
			}
		})
	}
}
