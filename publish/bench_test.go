package publish

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// benchNotices returns n incidents: two open, the rest recovered.
func benchNotices(n int) []Notice {
	base := sampleNotices()
	out := make([]Notice, n)
	for i := range out {
		inc := *base[i%len(base)].Incident
		inc.ID = int64(i + 1)
		inc.OpenedAt = inc.OpenedAt.Add(time.Duration(i) * time.Hour)
		inc.UpdatedAt = inc.OpenedAt.Add(time.Hour)
		inc.State = carrierwatch.IncidentResolved
		inc.ResolvedAt = inc.UpdatedAt
		if i >= n-2 {
			inc.State, inc.ResolvedAt = carrierwatch.IncidentOpen, time.Time{}
		}
		out[i] = Notice{Incident: &inc, CarrierName: fmt.Sprintf("Carrier %d", i%4)}
	}
	return out
}

// BenchmarkPublishUnchanged is the cost of the call after every planning
// round when nothing changed: render everything, compare, write nothing.
func BenchmarkPublishUnchanged(b *testing.B) {
	for _, n := range []int{10, 200} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			p, _ := newPublisher(b, &notices{ns: benchNotices(n)}, "https://www.example.ac.jp/mfa/")
			if _, err := p.Publish(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				res, err := p.Publish(context.Background())
				if err != nil || len(res.Written) != 0 {
					b.Fatalf("%v %v", res.Written, err)
				}
			}
		})
	}
}

// BenchmarkPublishOneChange is a cycle in which one open incident changed:
// its two pages, both indexes and the feed are replaced (each fsynced).
func BenchmarkPublishOneChange(b *testing.B) {
	ns := benchNotices(200)
	src := &notices{ns: ns}
	p, _ := newPublisher(b, src, "https://www.example.ac.jp/mfa/")
	if _, err := p.Publish(context.Background()); err != nil {
		b.Fatal(err)
	}
	last := ns[len(ns)-1].Incident
	b.ResetTimer()
	for b.Loop() {
		last.UpdatedAt = last.UpdatedAt.Add(time.Minute)
		res, err := p.Publish(context.Background())
		if err != nil || len(res.Written) != 5 {
			b.Fatalf("%v %v", res.Written, err)
		}
	}
}
