package main

import (
	"flag"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantArgs []string
		wantUser string
		wantMsgs bool
	}{
		{"flags first", []string{"--messages", "--user", "aoki", "12"}, []string{"12"}, "aoki", true},
		{"id first", []string{"12", "--messages", "--user", "aoki"}, []string{"12"}, "aoki", true},
		{"id between", []string{"--user=aoki", "12", "--messages"}, []string{"12"}, "aoki", true},
		{"no flags", []string{"12"}, []string{"12"}, "", false},
		{"dash-dash keeps the rest", []string{"12", "--", "--messages"}, []string{"12", "--messages"}, "", false},
		{"nothing", nil, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			msgs := fs.Bool("messages", false, "")
			user := fs.String("user", "", "")
			if err := parse(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			if got := fs.Args(); !slices.Equal(got, tt.wantArgs) && len(got)+len(tt.wantArgs) > 0 {
				t.Errorf("args = %q, want %q", got, tt.wantArgs)
			}
			if *user != tt.wantUser || *msgs != tt.wantMsgs {
				t.Errorf("--user %q --messages %v, want %q %v", *user, *msgs, tt.wantUser, tt.wantMsgs)
			}
		})
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parse(fs, []string{"12", "--nope"}); err == nil {
		t.Error("an unknown flag after the ID was accepted")
	}
}

// messageRow is a table row of messages: it starts with the message ID.
var messageRow = regexp.MustCompile(`(?m)^\d+ +\S`)

// TestHelpDeskFindsAUsersMails answers "did this user get a mail?" with and
// without knowing the campaign, flags after the ID as the usage shows.
func TestHelpDeskFindsAUsersMails(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		want      []string
		wantLines int // table rows without the header
	}{
		{"show with flags after the id", []string{"campaigns", "show", "1", "--messages", "--user", "aoki", "--config", cfg},
			[]string{"campaign 1: outage mails", "phone-only", "h***@mail.example.com, a***@example.ac.jp", "sent"}, 1},
		{"messages across campaigns", []string{"campaigns", "messages", "--user", "aoki", "--config", cfg},
			[]string{"CAMPAIGN", "outage", "phone-only", "h***@mail.example.com, a***@example.ac.jp", "sent"}, 1},
		{"messages by address part, unmasked", []string{"campaigns", "messages", "--user", "mail.example.com", "--unmask", "--config", cfg},
			[]string{"hanako.aoki@mail.example.com"}, 4},
		{"nobody", []string{"campaigns", "messages", "--user", "nobody-at-all", "--config", cfg},
			[]string{`no messages for "nobody-at-all"`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCmd(t, tt.args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			rows := len(messageRow.FindAllString(out, -1))
			if rows != tt.wantLines {
				t.Errorf("%d message rows, want %d:\n%s", rows, tt.wantLines, out)
			}
		})
	}
	if _, err := runCmd(t, "campaigns", "messages", "--config", cfg); err == nil {
		t.Error("campaigns messages without --user succeeded")
	}
}
