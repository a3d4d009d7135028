// Package demo holds the embedded sample data of `carrierwatch demo`: a
// replay of the July 2022 au outage (the notice page at three moments and an
// MVNO's Shift_JIS feed) and 300 invented users in the CSV directory format.
// It serves the replay over HTTP so the demo runs the real pipeline, offline.
// It is sample data, not a test fixture for the detector's edge cases.
package demo

import (
	"embed"
	"fmt"
	"net/http"
	"sync/atomic"
)

//go:embed data
var data embed.FS

// UsersCSV returns the sample directory.
func UsersCSV() []byte {
	b, err := data.ReadFile("data/users.csv")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// Stages are the moments of the replay, in order.
var Stages = []string{
	"2022-07-02 05:00 JST — au notice: voice and data hard to use nationwide",
	"2022-07-03 17:30 JST — au notice: ほぼ回復 (almost recovered; still an outage)",
	"2022-07-05 16:00 JST — au notice: 【復旧】 recovered",
}

var pages = []string{"data/kddi-notice-1-outage.html", "data/kddi-notice-2-partial.html", "data/kddi-notice-3-recovered.html"}

// Replay serves the carriers' notices as they stood at the current stage.
// The zero value serves stage 0. It is safe for concurrent use.
type Replay struct {
	stage atomic.Int32
}

// SetStage moves the replay to stage i (0-based).
func (r *Replay) SetStage(i int) { r.stage.Store(int32(i)) }

// ServeHTTP serves /au/important.html (the notice page, edited in place)
// and /mvno/trouble.rss (a Shift_JIS RSS feed).
func (r *Replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/au/important.html":
		b, err := data.ReadFile(pages[min(int(r.stage.Load()), len(pages)-1)])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	case "/mvno/trouble.rss":
		b, err := data.ReadFile("data/mvno-shiftjis.rss")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=Shift_JIS")
		w.Write(b)
	default:
		http.NotFound(w, req)
	}
}

// Config returns the demo's config.yaml for a replay served at baseURL,
// with state, users and the .eml outbox under dir.
func Config(baseURL, dir string) string {
	return fmt.Sprintf(`# carrierwatch demo config (generated)
state_dir: %[2]s/state
http: {listen: ""}
log: {format: text, level: warn}
schedule: {poll: "@every 1m", directory_sync: "@every 6h"}
carriers:
  - id: kddi
    name: au / UQ mobile / povo
    match: {carriers: ["KDDI", "Okinawa Cellular"]}
    sources:
      - {type: page, url: "%[1]s/au/important.html", selector: "main"}
      - {type: feed, url: "%[1]s/mvno/trouble.rss"}
directory:
  provider: csv
  csv: {path: %[2]s/users.csv}
mail:
  transport: file
  from: "IT Help <mfa-noreply@example.ac.jp>"
  file: {dir: %[2]s/outbox}
  rate_per_second: 0
  concurrency: 2
notify:
  send_resolved: true
  deliver_to: [alternate, primary]
  default_language: ja
  links:
    support_form: https://support.example.ac.jp/mfa-reset
    mfa_setup: https://aka.ms/mfasetup
    notice: https://www.example.ac.jp/news/carrier-outage
`, baseURL, dir)
}
