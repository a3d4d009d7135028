package notifier

import "time"

// PausedUntil returns when sending resumes after the relay kept failing or
// refusing; zero or a past time while sending.
func (d *Dispatcher) PausedUntil() time.Time { return d.pausedAt() }
