package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/carrierwatch/carrierwatch/detector"
)

// sourcesCheck is the readiness line of the notice sources: not ready while
// a source answers with a page or feed whose structure is wrong (its
// selector matches nothing, a list suddenly yields no notices or no dates,
// a feed is not one), which will not pass by itself. Other failing sources
// (timeouts, 5xx) back off and are listed without failing the check.
func (s *Service) sourcesCheck(ctx context.Context) Check {
	raw, err := s.db.SourceStates(ctx)
	if err != nil {
		return Check{Name: "sources", Detail: err.Error()}
	}
	var broken, failing []string
	for id, b := range raw {
		var st detector.State
		if json.Unmarshal(b, &st) != nil || st.LastError == "" {
			continue
		}
		line := id + ": " + st.LastError
		if st.Broken {
			broken = append(broken, line)
		} else {
			failing = append(failing, line)
		}
	}
	sort.Strings(broken)
	sort.Strings(failing)
	c := Check{Name: "sources", OK: len(broken) == 0}
	switch {
	case len(broken) > 0:
		c.Detail = fmt.Sprintf("%d source(s) changed structure: %s", len(broken), strings.Join(append(broken, failing...), "; "))
	case len(failing) > 0:
		c.Detail = fmt.Sprintf("%d source(s) failing, retried with backoff: %s", len(failing), strings.Join(failing, "; "))
	}
	return c
}
