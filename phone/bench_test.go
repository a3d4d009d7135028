package phone

import (
	"fmt"
	"testing"
)

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{
		{"entra", "+81 9012345678"},
		{"trunk0", "+81 09012345678"},
		{"national", "090-1234-5678"},
		{"fullwidth", "＋８１ ９０－１２３４－５６７８"},
		{"extension", "+81 358001234x123"},
		{"us", "+1 4255550123"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Normalize(bc.raw, "JP"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMask(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Mask("+819012345678")
	}
}

// BenchmarkMatch measures one Match call. "warm" rounds repeat a directory
// of 1,000 numbers (the cached case: a later incident, or a second phone
// list); "cold" gives a number never seen before on every call.
func BenchmarkMatch(b *testing.B) {
	numbers := make([]string, 1000)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+8190%08d", i*99991%100000000)
	}
	specs := []struct {
		name string
		spec MatchSpec
	}{
		{"prefix", MatchSpec{Prefixes: []string{"+81908", "+81802", "+8170"}}},
		{"carrier", MatchSpec{Carriers: []string{"KDDI", "Okinawa Cellular"}}},
		{"all_mobile", MatchSpec{AllMobile: "JP"}},
	}
	for _, sc := range specs {
		m, err := NewMatcher(sc.spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(sc.name+"/warm", func(b *testing.B) {
			for _, n := range numbers {
				m.Match(n)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Match(numbers[i%len(numbers)])
				i++
			}
		})
		b.Run(sc.name+"/cold", func(b *testing.B) {
			fresh := make([]string, b.N)
			for i := range fresh {
				fresh[i] = fmt.Sprintf("+8180%08d", i%100000000)
			}
			m, _ := NewMatcher(sc.spec)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Match(fresh[i])
			}
		})
	}
}
