package detector

import (
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/fixtures"
)

// readFixture returns the shared notice fixture name ("feeds/…", "pages/…").
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixtures.Notice(t, name)
}

// mustParse parses a fixture and fails the test on error.
func mustParse(t testing.TB, src Source, name, contentType string) []Notice {
	t.Helper()
	ns, err := Parse(src, readFixture(t, name), contentType)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return ns
}

func feedSource(id string) Source {
	return Source{ID: id, Type: TypeFeed, URL: "https://feeds.example.jp/rss/"}
}

func pageSource(id, selector string) Source {
	return Source{ID: id, Type: TypePage, URL: "https://www.example.jp/important/notice.html", Selector: selector}
}
