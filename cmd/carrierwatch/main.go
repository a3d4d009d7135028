// Command carrierwatch watches mobile carriers' outage notices and mails
// every user whose MFA depends on a phone of an affected carrier how to get
// back into their account. See README.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a command line mistake: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errSilent is a failure already reported on stderr.
var errSilent = errors.New("failed")

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "carrierwatch: %s\nRun 'carrierwatch help' for usage.\n", ue.msg)
		return 2
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "carrierwatch: %v\n", err)
	}
	return 1
}

const usage = `carrierwatch — mail users whose MFA phone is hit by a carrier outage

Usage: carrierwatch COMMAND [flags]     (every command takes --config FILE,
                                        default $CARRIERWATCH_CONFIG or ./config.yaml)

  run                         the daemon: poll, sync, plan and send on schedule
  once [--dry-run]            one cycle: sync if stale, poll, plan, send until drained
  demo [--dir DIR]            offline demo on embedded sample data (July 2022 au outage)
  check-config                validate the config and exit
  rules test FILE|URL...      show the verdict of each notice in a feed or page
  directory sync|stats        sync the directory now / show users and exposure
  incidents list|show ID|open --carrier ID [--note TEXT]|resolve ID
  campaigns list|show ID [--messages [--user Q]]|messages --user Q|approve ID|cancel ID
            |preparedness [--dry-run]
  render --kind K --segment S --lang L   preview a mail
  publish                     rewrite the notice pages in publish.dir from the database
  prune [--dry-run]           delete what retention no longer keeps (the daemon does daily)
  backup FILE|DIR             write a verified copy of the database (works while run runs)
  version                     print the version
`

// run is the whole program; main only wires signals and the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "--version":
		fmt.Fprintf(stdout, "carrierwatch %s\n", Version)
		return nil
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "once":
		return cmdOnce(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(ctx, rest, stdout, stderr)
	case "rules":
		return cmdRules(ctx, rest, stdout, stderr)
	case "directory":
		return cmdDirectory(ctx, rest, stdout, stderr)
	case "incidents":
		return cmdIncidents(ctx, rest, stdout, stderr)
	case "campaigns":
		return cmdCampaigns(ctx, rest, stdout, stderr)
	case "render":
		return cmdRender(ctx, rest, stdout, stderr)
	case "publish":
		return cmdPublish(ctx, rest, stdout, stderr)
	case "prune":
		return cmdPrune(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	}
	return usagef("unknown command %q", cmd)
}
