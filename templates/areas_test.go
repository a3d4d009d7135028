package templates

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

// TestRegionalMailNamesTheArea: a regional incident's outage mail names its areas
// (issue 9); a national one's name none.
func TestRegionalMailNamesTheArea(t *testing.T) {
	for _, tt := range []struct{ lang, text, html string }{
		{"ja", "対象地域: 石川県、<富山県>", "対象地域</th><td>石川県、&lt;富山県&gt;</td>"},
		{"en", "Areas: 石川県, <富山県>", "Areas</th><td>石川県, &lt;富山県&gt;</td>"},
	} {
		for _, kind := range []carrierwatch.Kind{carrierwatch.KindOutage} {
			d := sample(tt.lang, Combination{kind, carrierwatch.SegmentPhoneOnly})
			d.SetIncident(&carrierwatch.Incident{ID: 1, Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県", "<富山県>"}}, "au")
			text, html := render(t, d)
			if !strings.Contains(text, tt.text) || !strings.Contains(html, tt.html) {
				t.Errorf("%s %s mail lacks the areas:\n%s", tt.lang, kind, text)
			}
			d.SetIncident(&carrierwatch.Incident{ID: 1, Scope: carrierwatch.ScopeNational}, "au")
			if text, _ := render(t, d); strings.Contains(text, "石川県") || strings.Contains(text, "対象地域") || strings.Contains(text, "Areas:") {
				t.Errorf("%s national mail names areas:\n%s", tt.lang, text)
			}
		}
	}
}
