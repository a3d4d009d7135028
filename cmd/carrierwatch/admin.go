package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/templates"
)

func tw(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 2, 4, 2, ' ', 0) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// ---- rules test ----

// statuspageSource returns the statuspage source configured at url for one
// of carriers (indexes into cfg.Carriers), or nil; its ID is the carrier's.
func statuspageSource(cfg *config.Config, carriers []int, url string) *detector.Source {
	for _, ci := range carriers {
		for _, s := range cfg.Carriers[ci].DetectorSources() {
			if s.Type == detector.TypeStatuspage && s.URL == url {
				s.ID = cfg.Carriers[ci].ID
				return &s
			}
		}
	}
	return nil
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return usagef("usage: carrierwatch rules test [--carrier ID] [--type feed|page] [--selector CSS] [--items CSS] FILE|URL...")
	}
	fs, path := flags("rules test", stderr)
	carrierID := fs.String("carrier", "", "test only against this carrier's rules (default: every carrier)")
	typ := fs.String("type", "", "feed or page (default: guessed from the content)")
	selector := fs.String("selector", "", "page: CSS selector of the notice")
	items := fs.String("items", "", "page: CSS selector of each notice in an index")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("rules test needs at least one FILE or URL")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	var carriers []int
	for i, c := range cfg.Carriers {
		if *carrierID == "" || c.ID == *carrierID {
			carriers = append(carriers, i)
		}
	}
	if len(carriers) == 0 {
		return usagef("no carrier %q in %s", *carrierID, *path)
	}
	out := tw(stdout)
	fmt.Fprintln(out, "INPUT\tNOTICE\tCARRIER\tVERDICT\tRULE\tSCOPE\tTHREAD")
	failed := false
	for _, in := range fs.Args() {
		if sp := statuspageSource(cfg, carriers, in); sp != nil {
			// A configured statuspage: its two API documents, read as the
			// daemon reads them; the page states the verdict.
			res, _, err := detector.NewFetcher(detector.Options{UserAgent: userAgent()}).Poll(ctx, *sp, detector.State{})
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", in, err)
				failed = true
				continue
			}
			for _, n := range res.Notices {
				c := cfg.Carrier(sp.ID)
				a := c.CompiledRules().Analyze(n, n.Published)
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in, cell(n.Title, 60), sp.ID, a.Verdict, cell(a.Rule, 40), a.Scope, cell(n.Key, 50))
			}
			continue
		}
		body, ctype, err := readInput(ctx, in)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", in, err)
			failed = true
			continue
		}
		src := detector.Source{ID: in, URL: in, Type: *typ, Selector: *selector, Items: *items}
		if src.Type == "" {
			src.Type = guessType(body, ctype)
		}
		// A page given by URL uses the selectors of a configured source with that URL.
		for _, ci := range carriers {
			for _, s := range cfg.Carriers[ci].Sources {
				if s.URL == in && *selector == "" && *items == "" {
					src.Type, src.Selector, src.Items = s.Type, s.Selector, s.Items
				}
			}
		}
		notices, err := detector.Parse(src, body, ctype)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", in, err)
			failed = true
			continue
		}
		for _, n := range notices {
			for _, ci := range carriers {
				c := &cfg.Carriers[ci]
				a := c.CompiledRules().Analyze(n, n.Published)
				scope := a.Scope
				if len(a.Areas) > 0 {
					scope += " (" + strings.Join(a.Areas, "、") + ")"
				}
				thread := n.Key
				if a.Thread != "" {
					thread = a.Thread
				}
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in, cell(n.Title, 60), c.ID, a.Verdict, cell(a.Rule, 40), cell(scope, 40), cell(thread, 50))
			}
		}
	}
	out.Flush()
	if failed {
		return errSilent
	}
	return nil
}

// cell is s on one line of at most n runes for a table, "-" when empty.
func cell(s string, n int) string {
	return dash(carrierwatch.OneLine(s, n))
}

func guessType(body []byte, ctype string) string {
	head := strings.ToLower(string(body[:min(len(body), 512)]))
	if strings.Contains(ctype, "html") || strings.Contains(head, "<!doctype html") || strings.Contains(head, "<html") {
		return "page"
	}
	return "feed"
}

func readInput(ctx context.Context, in string) ([]byte, string, error) {
	if strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in, nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("User-Agent", "carrierwatch/"+Version+" rules-test")
		c := &http.Client{Timeout: 30 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("HTTP %s", resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 5<<20))
		return b, resp.Header.Get("Content-Type"), err
	}
	b, err := os.ReadFile(in)
	return b, "", err
}

// ---- directory ----

func cmdDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "sync" && args[0] != "stats") {
		return usagef("usage: carrierwatch directory sync [--allow-shrink] | stats")
	}
	fs, path := flags("directory "+args[0], stderr)
	shrink := fs.Bool("allow-shrink", false, "sync: allow a full sync to remove more than half of the cached users, or the phones of more than half of the users with one")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return withApp(ctx, *path, stderr, func(a *app) error {
		if args[0] == "sync" {
			last := time.Time{}
			res, err := a.svc.SyncDirectory(ctx, pipeline.SyncOptions{AllowShrink: *shrink, Progress: func(p directory.Progress) {
				if time.Since(last) < time.Second {
					return
				}
				last = time.Now()
				if p.Total > 0 {
					fmt.Fprintf(stdout, "  %s: %d/%d\n", p.Stage, p.Done, p.Total)
				} else {
					fmt.Fprintf(stdout, "  %s: %d\n", p.Stage, p.Done)
				}
			}}, cliActor())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "directory synced: %d users (%d added or changed, %d removed)\n", res.Users, res.Upserted, res.Removed)
			return nil
		}
		return directoryStats(ctx, a, stdout)
	})
}

func directoryStats(ctx context.Context, a *app, stdout io.Writer) error {
	st, err := a.svc.DirectoryStats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "provider:            %s\n", st.Provider)
	fmt.Fprintf(stdout, "last good sync:      %s (%d users)\n", fmtTime(st.LastOK.FinishedAt), st.LastOK.Users)
	if st.LastOK.Mode != "" {
		fmt.Fprintf(stdout, "methods read from:   %s (%s)\n", st.LastOK.Mode, st.LastOK.ModeReason)
	}
	if !st.LastAttempt.OK && !st.LastAttempt.FinishedAt.IsZero() {
		fmt.Fprintf(stdout, "LAST SYNC FAILED:    %s: %s (the cache keeps the last good data)\n", fmtTime(st.LastAttempt.FinishedAt), st.LastAttempt.Error)
	}
	fmt.Fprintf(stdout, "users:               %d\n", st.Users)
	fmt.Fprintf(stdout, "with a phone:        %d\n", st.WithPhone)
	fmt.Fprintf(stdout, "unparsable numbers:  %d\n", st.InvalidNumbers)
	fmt.Fprintf(stdout, "no address to mail:  %d\n", st.NoAddress)
	fmt.Fprintf(stdout, "reset e-mail (SSPR): %d (mailed first, before other alternates)\n", st.ResetEmails)
	fmt.Fprintf(stdout, "app/passkey/other:   %d (a way in without a phone)\n", st.WayIn)
	fmt.Fprintf(stdout, "phone-only:          %d (preparedness campaign audience)\n\n", st.PhoneOnly)
	fmt.Fprintln(stdout, "Exposure: who would be affected by an outage of each carrier (match rules are hints: number portability)")
	out := tw(stdout)
	fmt.Fprintln(out, "CARRIER\tNAME\tAFFECTED\tAPP\tOTHER-PHONE\tPHONE-ONLY\tNO ADDRESS")
	for _, e := range st.Exposure {
		fmt.Fprintf(out, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", e.CarrierID, e.Name, e.Affected, e.BySegment[carrierwatch.SegmentApp], e.BySegment[carrierwatch.SegmentOtherPhone], e.BySegment[carrierwatch.SegmentPhoneOnly], e.NoAddress)
	}
	return out.Flush()
}

// ---- incidents ----

func cmdIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: carrierwatch incidents list [--open] | show ID | open --carrier ID [--note TEXT] | resolve ID [--note TEXT]")
	}
	sub := args[0]
	fs, path := flags("incidents "+sub, stderr)
	openOnly := fs.Bool("open", false, "list: only open incidents")
	carrierID := fs.String("carrier", "", "open: the carrier that is down")
	note := fs.String("note", "", "open/resolve: a note for the record")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return withApp(ctx, *path, stderr, func(a *app) error {
		switch sub {
		case "list":
			incs, err := a.svc.Incidents(ctx, *openOnly)
			if err != nil {
				return err
			}
			out := tw(stdout)
			fmt.Fprintln(out, "ID\tCARRIER\tSTATE\tOPENED\tRESOLVED\tTITLE")
			for _, inc := range incs {
				fmt.Fprintf(out, "%d\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.CarrierID, inc.State, fmtTime(inc.OpenedAt), fmtTime(inc.ResolvedAt), cell(inc.Title, 70))
			}
			return out.Flush()
		case "show":
			id, err := idArg(fs)
			if err != nil {
				return err
			}
			d, err := a.svc.Incident(ctx, id)
			if err != nil {
				return err
			}
			inc := d.Incident
			fmt.Fprintf(stdout, "incident %d: %s, carrier %s\nopened:   %s%s\nresolved: %s\ntitle:    %s\nlink:     %s\n",
				inc.ID, inc.State, inc.CarrierID, fmtTime(inc.OpenedAt), map[bool]string{true: " (declared by an admin)"}[inc.Manual], fmtTime(inc.ResolvedAt), inc.Title, inc.URL)
			if inc.Note != "" {
				fmt.Fprintf(stdout, "note:     %s\n", inc.Note)
			}
			printScope(stdout, inc)
			fmt.Fprintln(stdout, "\nHistory:")
			out := tw(stdout)
			for _, e := range d.Events {
				fmt.Fprintf(out, "  %s\t%s\t%s\t%s\t%s\n", fmtTime(e.At), e.Kind, e.Verdict, e.SourceID, cell(e.Title, 70))
			}
			out.Flush()
			for _, c := range d.Campaigns {
				fmt.Fprintf(stdout, "campaign %d (%s, %s): %s\n", c.ID, c.Kind, c.State, countsLine(c.Counts))
			}
			printAudit(stdout, d.Audit)
			return nil
		case "open":
			if *carrierID == "" {
				return usagef("incidents open needs --carrier ID")
			}
			o, err := a.svc.OpenIncident(ctx, *carrierID, *note, cliActor())
			if errors.Is(err, service.ErrUnknownCarrier) {
				return usagef("no carrier %q in the config", *carrierID)
			}
			if err != nil {
				return err
			}
			inc := o.Incident
			if !o.Created {
				fmt.Fprintf(stdout, "carrier %s already has open incident %d\n", inc.CarrierID, inc.ID)
				return nil
			}
			r := o.Plan
			fmt.Fprintf(stdout, "incident %d opened for %s; %d users affected, %d mails planned (campaign %d). The daemon sends them (without a daemon: carrierwatch once).\n",
				inc.ID, inc.CarrierID, r.Affected, r.New, r.CampaignID)
			return nil
		case "resolve":
			id, err := idArg(fs)
			if err != nil {
				return err
			}
			r, err := a.svc.ResolveIncident(ctx, id, *note, cliActor())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "incident %d resolved; %d follow-up mails planned\n", id, r.Plan.New)
			return nil
		}
		return usagef("unknown incidents command %q", sub)
	})
}

func idArg(fs interface {
	NArg() int
	Arg(int) string
}) (int64, error) {
	if fs.NArg() != 1 {
		return 0, usagef("give exactly one ID")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not an ID", fs.Arg(0))
	}
	return id, nil
}

func countsLine(c carrierwatch.MessageCounts) string {
	return fmt.Sprintf("%d total: %d sent, %d pending (%d waiting for retry), %d sending, %d failed, %d cancelled",
		c.Total, c.Sent, c.Pending, c.Waiting, c.Sending, c.Failed, c.Cancelled)
}

// ---- campaigns ----

func cmdCampaigns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: carrierwatch campaigns list | show ID [--messages] [--user Q] | messages --user Q | approve ID | cancel ID | preparedness [--dry-run]")
	}
	sub := args[0]
	fs, path := flags("campaigns "+sub, stderr)
	msgs := fs.Bool("messages", false, "show: list the messages")
	user := fs.String("user", "", "show, messages: only messages of this user (id, UPN or address, or part of one)")
	state := fs.String("state", "", "show, messages: only messages in this state (pending, sent, failed, cancelled)")
	unmask := fs.Bool("unmask", false, "show, messages: print full addresses (help desk use)")
	dry := fs.Bool("dry-run", false, "preparedness: count and list, change nothing")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return withApp(ctx, *path, stderr, func(a *app) error {
		switch sub {
		case "list":
			cs, err := a.svc.Campaigns(ctx)
			if err != nil {
				return err
			}
			out := tw(stdout)
			fmt.Fprintln(out, "ID\tINCIDENT\tKIND\tSTATE\tCREATED\tTOTAL\tSENT\tPENDING\tFAILED\tCANCELLED")
			for _, c := range cs {
				fmt.Fprintf(out, "%d\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", c.ID, c.IncidentID, c.Kind, c.State, fmtTime(c.CreatedAt), c.Counts.Total, c.Counts.Sent, c.Counts.Pending, c.Counts.Failed, c.Counts.Cancelled)
			}
			return out.Flush()
		case "show":
			id, err := idArg(fs)
			if err != nil {
				return err
			}
			d, err := a.svc.Campaign(ctx, id)
			if err != nil {
				return err
			}
			c := d.Campaign
			fmt.Fprintf(stdout, "campaign %d: %s mails, %s, incident %d\ncreated:  %s\napproved: %s\nprogress: %s\n",
				c.ID, c.Kind, c.State, c.IncidentID, fmtTime(c.CreatedAt), fmtTime(c.ApprovedAt), countsLine(c.Counts))
			if err := printEstimate(ctx, stdout, a.db, a.cfg, c.ID); err != nil {
				return err
			}
			if err := printDailyLimit(ctx, stdout, a.db, a.cfg); err != nil {
				return err
			}
			if c.State == carrierwatch.CampaignAwaitingApproval {
				fmt.Fprintf(stdout, "\nNothing is sent until an admin runs: carrierwatch campaigns approve %d\n", c.ID)
			}
			if err := printBreakdown(ctx, stdout, a, id); err != nil {
				return err
			}
			if len(d.Failures) > 0 {
				fmt.Fprintln(stdout, "\nFailed, by the server's reply:")
				out := tw(stdout)
				for _, f := range d.Failures {
					fmt.Fprintf(out, "  %d\t%s\n", f.Count, f.Reply)
				}
				out.Flush()
			}
			printAudit(stdout, d.Audit)
			if !*msgs && *user == "" && *state == "" {
				return nil
			}
			list, err := a.svc.Messages(ctx, service.MessageFilter{CampaignID: id, Query: *user, State: carrierwatch.MessageState(*state)})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout)
			out := tw(stdout)
			fmt.Fprintln(out, "MSG\tUSER\tSEGMENT\tLANG\tTO\tSTATE\tTRIES\tSENT\tLAST ERROR")
			for _, m := range list {
				to := maskAddrs(m.To)
				if *unmask {
					to = strings.Join(m.To, ", ")
				}
				fmt.Fprintf(out, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.UserID, m.Segment, m.Lang, to, m.State, m.Attempts, fmtTime(m.SentAt), cell(m.LastError, 100))
			}
			return out.Flush()
		case "messages":
			// The help desk's question: "did this user get a mail, and
			// which?" — across every campaign, newest last.
			if *user == "" {
				return usagef("campaigns messages needs --user Q (user id, UPN or address, or part of one)")
			}
			if fs.NArg() > 0 {
				return usagef("campaigns messages takes no arguments")
			}
			list, err := a.svc.Messages(ctx, service.MessageFilter{Query: *user, State: carrierwatch.MessageState(*state)})
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(stdout, "no messages for %q\n", *user)
				return nil
			}
			out := tw(stdout)
			fmt.Fprintln(out, "MSG\tCAMPAIGN\tINCIDENT\tKIND\tUSER\tSEGMENT\tLANG\tTO\tSTATE\tTRIES\tSENT\tLAST ERROR")
			for _, m := range list {
				to := maskAddrs(m.To)
				if *unmask {
					to = strings.Join(m.To, ", ")
				}
				fmt.Fprintf(out, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.CampaignID, m.IncidentID, m.Kind, m.UserID, m.Segment, m.Lang, to, m.State, m.Attempts, fmtTime(m.SentAt), cell(m.LastError, 100))
			}
			return out.Flush()
		case "approve":
			id, err := idArg(fs)
			if err != nil {
				return err
			}
			c, err := a.svc.ApproveCampaign(ctx, id, cliActor())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "campaign %d approved: %d messages will be sent\n", c.ID, c.Counts.Pending)
			return printEstimate(ctx, stdout, a.db, a.cfg, c.ID)
		case "cancel":
			id, err := idArg(fs)
			if err != nil {
				return err
			}
			c, err := a.svc.CancelCampaign(ctx, id, cliActor())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "campaign %d cancelled: %s\n", c.ID, countsLine(c.Counts))
			return nil
		case "preparedness":
			r, err := a.svc.PlanPreparedness(ctx, *dry, cliActor())
			if err != nil {
				return err
			}
			if *dry {
				fmt.Fprintf(stdout, "DRY RUN: %d phone-only users; %d would be mailed (others were mailed within notify.preparedness_interval or have no address)\n", r.Affected, r.Planned)
				out := tw(stdout)
				fmt.Fprintln(out, "USER\tLANG\tTO")
				for _, m := range r.Messages {
					fmt.Fprintf(out, "%s\t%s\t%s\n", m.UserID, m.Lang, maskAddrs(m.To))
				}
				return out.Flush()
			}
			fmt.Fprintf(stdout, "preparedness campaign %d: %d mails planned for %d phone-only users. The daemon sends them (without a daemon: carrierwatch once).\n", r.CampaignID, r.New, r.Affected)
			return nil
		}
		return usagef("unknown campaigns command %q", sub)
	})
}

// ---- render ----

func cmdRender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("render", stderr)
	kind := fs.String("kind", "outage", "outage, resolved or preparedness")
	segment := fs.String("segment", "phone-only", "app, other-phone or phone-only")
	lang := fs.String("lang", "ja", "ja or en")
	carrierID := fs.String("carrier", "", "carrier whose name to use (default: the first)")
	html := fs.Bool("html", false, "print the HTML part instead of the text part")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !carrierwatch.Kind(*kind).Valid() {
		return usagef("--kind %q: want outage, resolved or preparedness", *kind)
	}
	if !carrierwatch.Segment(*segment).Valid() {
		return usagef("--segment %q: want app, other-phone or phone-only", *segment)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	tmpl, err := templates.New(cfg.Notify.TemplatesDir)
	if err != nil {
		return err
	}
	p, err := service.RenderPreview(tmpl, cfg, service.PreviewRequest{
		Kind: carrierwatch.Kind(*kind), Segment: carrierwatch.Segment(*segment), Lang: *lang, CarrierID: *carrierID,
	})
	if errors.Is(err, service.ErrUnknownCarrier) {
		return usagef("no carrier %q in the config", *carrierID)
	}
	if err != nil {
		return err
	}
	subject, text, htmlBody := p.Subject, p.Text, p.HTML
	fmt.Fprintf(stdout, "Subject: %s\n\n", subject)
	if *html {
		fmt.Fprintln(stdout, htmlBody)
	} else {
		fmt.Fprintln(stdout, text)
	}
	return nil
}

// printAudit prints an audit trail under "Audit:" (nothing if empty).
func printAudit(w io.Writer, entries []carrierwatch.AuditEntry) {
	if len(entries) == 0 {
		return
	}
	fmt.Fprintln(w, "\nAudit:")
	out := tw(w)
	for _, e := range entries {
		fmt.Fprintf(out, "  %s\t%s\t%s\t%s\n", fmtTime(e.At), e.Actor, e.Action, cell(e.Detail, 70))
	}
	out.Flush()
}

// cliActor is who runs this command, for the audit trail: "cli:" and the
// login name (the one sudo was run from, if any).
func cliActor() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		return "cli"
	}
	return "cli:" + name
}
