package config

import (
	"fmt"
	"time"
)

// Retention says how long the state file keeps personal data; 0 keeps it.
// The daemon prunes once a day, `carrierwatch prune` on demand.
type Retention struct {
	// Messages: a finished campaign's per-user messages (addresses, mail
	// data) are deleted this long after its last activity and its
	// incident's resolution; its counts by segment, language and state
	// stay. Default 400d.
	Messages Duration `yaml:"messages"`
	// Incidents: a resolved incident with its history, campaigns and
	// counts is deleted this long after its resolution. Default 0: kept.
	Incidents Duration `yaml:"incidents"`
	// RemovedUsers: the messages of a user the directory sync removed
	// are deleted this long after the removal. Default 30d.
	RemovedUsers Duration `yaml:"removed_users"`
}

// DefaultRetention is retention's default: messages 400 days, incidents
// kept, removed users' messages 30 days.
func DefaultRetention() Retention {
	return Retention{
		Messages:     Duration(400 * 24 * time.Hour),
		RemovedUsers: Duration(30 * 24 * time.Hour),
	}
}

func (r Retention) validate() []error {
	var errs []error
	for path, d := range map[string]Duration{
		"retention.messages": r.Messages, "retention.incidents": r.Incidents, "retention.removed_users": r.RemovedUsers,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative (0 keeps the data)", path))
		}
	}
	return errs
}

// RetentionWarnings are settings that are valid but probably not meant:
// messages deleted sooner than the windows that read them.
func (c *Config) RetentionWarnings() []string {
	var out []string
	r, n := c.Retention, c.Notify
	if r.Messages > 0 && n.PreparednessInterval > r.Messages {
		out = append(out, fmt.Sprintf("retention.messages (%s) is shorter than notify.preparedness_interval (%s): users whose preparedness mail was pruned may be mailed again sooner",
			time.Duration(r.Messages), time.Duration(n.PreparednessInterval)))
	}
	if r.Messages > 0 && n.RenotifyAfter > r.Messages {
		out = append(out, fmt.Sprintf("retention.messages (%s) is shorter than notify.renotify_after (%s): pruned outage mails no longer hold back a recurrence's",
			time.Duration(r.Messages), time.Duration(n.RenotifyAfter)))
	}
	return out
}
