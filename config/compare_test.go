package config

import (
	"testing"
	"time"
)

func TestEqual(t *testing.T) {
	base := Mail{Transport: "smtp", From: "IT <it@example.ac.jp>", SMTP: SMTP{Host: "localhost", Port: 587, Timeout: Duration(time.Minute), Password: "s3cret"}, Concurrency: 2}
	tests := []struct {
		name string
		edit func(*Mail)
		want bool
	}{
		{"unchanged", func(*Mail) {}, true},
		{"concurrency", func(m *Mail) { m.Concurrency = 4 }, false},
		{"smtp host", func(m *Mail) { m.SMTP.Host = "relay.example.ac.jp" }, false},
		{"password read again, new value", func(m *Mail) { m.SMTP.Password = "rotated" }, false},
		{"rate", func(m *Mail) { m.RatePerSecond = 0.5 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			if got := Equal(base, m); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEqualSlices: a section with lists (the mail section will have some)
// compares by content, an empty list as no list, and comparing changes
// neither side.
func TestEqualSlices(t *testing.T) {
	type section struct {
		Hosts  []string
		Limits map[string]int
		Nested []struct{ Tags []string }
	}
	a := section{Hosts: []string{"a", "b"}, Nested: []struct{ Tags []string }{{Tags: []string{}}}}
	b := section{Hosts: []string{"a", "b"}, Limits: map[string]int{}, Nested: []struct{ Tags []string }{{}}}
	if !Equal(a, b) {
		t.Error("same lists (empty and absent ones) compare unequal")
	}
	if a.Nested[0].Tags == nil || b.Limits == nil {
		t.Error("Equal changed its arguments")
	}
	b.Hosts = []string{"b", "a"}
	if Equal(a, b) {
		t.Error("lists in another order compare equal")
	}
	if !Equal(Notify{DeliverTo: []string{}}, Notify{}) {
		t.Error("deliver_to: [] and no deliver_to compare unequal")
	}
}
