package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/demo"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

// cmdDemo runs the real pipeline offline: an in-process HTTP server replays
// the July 2022 au outage notices, the directory is 300 sample users in a
// CSV file, and mails are written as .eml files into a folder it names.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, _ := flags("demo", stderr)
	dir := fs.String("dir", "", "folder for the demo's state, users and outbox (default: a new temporary folder)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "carrierwatch-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "state", store.FileName)); err == nil {
		return fmt.Errorf("%s already holds a demo; give an empty --dir", abs)
	}

	replay := &demo.Replay{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: replay, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if err := os.WriteFile(filepath.Join(abs, "users.csv"), demo.UsersCSV(), 0o640); err != nil {
		return err
	}
	cfgPath := filepath.Join(abs, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(demo.Config("http://"+ln.Addr().String(), abs)), 0o640); err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	a, err := openApp(ctx, cfg, logger, appOptions{send: true})
	if err != nil {
		return err
	}
	defer a.Close()

	fmt.Fprintf(stdout, "carrierwatch demo: replaying the July 2022 au outage against %d sample users\n\n", countLines(demo.UsersCSV())-1)
	for i, stage := range demo.Stages {
		replay.SetStage(i)
		before, _ := a.svc.OutboxCounts(ctx)
		res, err := a.svc.Once(ctx, 0)
		if err != nil {
			return err
		}
		after, _ := a.svc.OutboxCounts(ctx)
		fmt.Fprintf(stdout, "[%d] %s\n", i+1, stage)
		for _, inc := range res.Poll.Opened {
			fmt.Fprintf(stdout, "    detected: incident %d opened for %s — %q\n", inc.ID, inc.CarrierID, inc.Title)
		}
		shown := map[int64]bool{}
		for _, inc := range res.Poll.Opened {
			shown[inc.ID] = true
		}
		for _, inc := range res.Poll.Updated {
			if shown[inc.ID] {
				continue // another source's notice of the same outage
			}
			shown[inc.ID] = true
			fmt.Fprintf(stdout, "    detected: incident %d updated, still open — %q\n", inc.ID, cell(inc.Title, 60))
		}
		for _, inc := range res.Poll.Resolved {
			fmt.Fprintf(stdout, "    detected: incident %d resolved\n", inc.ID)
		}
		if len(res.Poll.Opened)+len(res.Poll.Updated)+len(res.Poll.Resolved) == 0 {
			fmt.Fprintf(stdout, "    detected: nothing new (%d notices seen before)\n", res.Poll.New)
		}
		fmt.Fprintf(stdout, "    mailed:   %d new messages\n", after.Sent-before.Sent)
	}

	msgs, err := a.svc.Messages(ctx, service.MessageFilter{})
	if err != nil {
		return err
	}
	type key struct {
		kind    carrierwatch.Kind
		segment carrierwatch.Segment
		lang    string
	}
	count := map[key]int{}
	for _, m := range msgs {
		count[key{m.Kind, m.Segment, m.Lang}]++
	}
	keys := make([]key, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.kind != b.kind {
			return a.kind > b.kind
		}
		if a.segment != b.segment {
			return a.segment < b.segment
		}
		return a.lang < b.lang
	})
	fmt.Fprintln(stdout, "\nWho was mailed what:")
	out := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(out, "  KIND\tSEGMENT\tLANG\tMAILS")
	for _, k := range keys {
		fmt.Fprintf(out, "  %s\t%s\t%s\t%d\n", k.kind, k.segment, k.lang, count[k])
	}
	out.Flush()
	fmt.Fprintln(stdout, "\nFirst mails (addresses masked):")
	for i, m := range msgs {
		if i == 5 {
			break
		}
		fmt.Fprintf(stdout, "  %-8s %-12s %s  user %s → %s\n", m.Kind, m.Segment, m.Lang, m.UserID, maskAddrs(m.To))
	}
	fmt.Fprintf(stdout, "\nThe .eml files are in %s\n", cfg.Mail.File.Dir)
	fmt.Fprintf(stdout, "Look around: carrierwatch incidents list --config %s\n", cfgPath)
	return nil
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
