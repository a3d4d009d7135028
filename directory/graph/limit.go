package graph

import (
	"context"
	"sync"
	"time"
)

// windowLimiter lets at most n requests start in any window: stricter than a
// token bucket of the same figures, so it satisfies either reading of
// "n requests per window".
type windowLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	starts []time.Time // oldest first, at most n
}

func newWindowLimiter(n int, window time.Duration) *windowLimiter {
	return &windowLimiter{n: n, window: window}
}

// Wait blocks until a request may start, or ctx ends. A nil limiter never
// blocks.
func (l *windowLimiter) Wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	for {
		l.mu.Lock()
		now := time.Now()
		for len(l.starts) > 0 && now.Sub(l.starts[0]) >= l.window {
			l.starts = l.starts[1:]
		}
		if len(l.starts) < l.n {
			l.starts = append(l.starts, now)
			l.mu.Unlock()
			return nil
		}
		wait := l.window - now.Sub(l.starts[0])
		l.mu.Unlock()
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}
