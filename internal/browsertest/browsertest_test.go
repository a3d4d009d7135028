package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/carrierwatch/carrierwatch/internal/browsertest"
)

func TestBrowserRendersAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>t</title><h1 id="h">こんにちは</h1>`)
	}))
	defer srv.Close()
	ctx := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#h")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "こんにちは" {
		t.Fatalf("heading = %q", text)
	}
}
