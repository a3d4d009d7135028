package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/carrierwatch/carrierwatch"
)

// printScope adds the scope, the stated start and the thread of an
// incident to `incidents show`.
func printScope(w io.Writer, inc *carrierwatch.Incident) {
	scope := string(inc.Scope)
	if len(inc.Areas) > 0 {
		scope += ": " + strings.Join(inc.Areas, "、")
	}
	status := "ongoing"
	switch {
	case inc.State == carrierwatch.IncidentResolved:
		status = "recovered"
	case inc.PartlyRecovered:
		status = "partly recovered"
	}
	fmt.Fprintf(w, "scope:    %s\nstatus:   %s\n", scope, status)
	if inc.DataOnly {
		fmt.Fprintln(w, "service:  data only (no voice or SMS named): its campaign waits for approval")
	}
	if !inc.StartedAt.IsZero() {
		fmt.Fprintf(w, "started:  %s (as the carrier states it)\n", fmtTime(inc.StartedAt))
	}
	if inc.Thread != "" {
		fmt.Fprintf(w, "thread:   %s\n", inc.Thread)
	}
}
