package main

import (
	"fmt"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/store"
)

// stateWarnings are what check-config says about the state file besides
// the config's validity: files others may read, retention that undercuts
// the notify windows.
func stateWarnings(cfg *config.Config) []string {
	var out []string
	exposed, err := store.Exposed(cfg.StateDir)
	if err != nil {
		out = append(out, fmt.Sprintf("state_dir: %v", err))
	}
	for _, e := range exposed {
		out = append(out, e.String())
	}
	return append(out, cfg.RetentionWarnings()...)
}

// days prints a retention period: "400d", "12h0m0s", or "kept" for 0.
func days(d time.Duration) string {
	switch {
	case d == 0:
		return "kept"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// megabytes prints a size in MB with one decimal.
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
