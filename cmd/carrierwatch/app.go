package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/console"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	dircsv "github.com/carrierwatch/carrierwatch/directory/csv"
	"github.com/carrierwatch/carrierwatch/directory/graph"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/graphmail"
	"github.com/carrierwatch/carrierwatch/metrics"
	"github.com/carrierwatch/carrierwatch/msidentity"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/publish"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// Version is set at build time with -ldflags "-X main.Version=…"; when it
// is not, the module version from the build info is used.
var Version = "dev"

func init() {
	if Version != "dev" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		Version = bi.Main.Version
	}
}

// flags returns a flag set with the --config flag every command takes.
func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv(config.EnvConfig)
	if def == "" {
		def = "config.yaml"
	}
	path := fs.String("config", def, "config `FILE` (env "+config.EnvConfig+")")
	return fs, path
}

// parse parses args, turning flag errors into usage errors. Flags may
// come before or after positional arguments ("rules test FILE --carrier
// kddi", "campaigns show 12 --messages"); "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := parseOnce(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest := fs.Args()
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...) // after "--": no more flags
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	return parseOnce(fs, append([]string{"--"}, positional...))
}

func parseOnce(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errSilent
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is everything a command that touches the state needs: the store
// and the service built on it. Front ends call a.svc only.
type app struct {
	cfg       *config.Config
	logger    *slog.Logger
	db        *store.DB
	svc       *service.Service
	metrics   *metrics.Metrics // the daemon's, else nil
	transport io.Closer        // nil when this process does not send
	lock      *os.File         // held while this process sends
}

// sendCloser is a mail transport that holds connections.
type sendCloser interface {
	notifier.Transport
	io.Closer
}

var (
	_ sendCloser            = (*email.SMTP)(nil)
	_ sendCloser            = (*email.File)(nil)
	_ service.Observer      = (*metrics.Metrics)(nil)
	_ sendCloser            = (*graphmail.Transport)(nil)
	_ email.TokenSource     = (*msidentity.TokenSource)(nil)
	_ graphmail.TokenSource = (*msidentity.TokenSource)(nil)
)

// appOptions say what a command needs besides the store.
type appOptions struct {
	// send makes this process the sender: it takes the state_dir lock
	// and builds the configured transport.
	send bool
	// transport, when set, is used instead of the configured one and
	// without the lock (a dry run's recorder).
	transport sendCloser
	// metrics builds the daemon's metrics and records into them.
	metrics bool
}

func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// newProvider builds the configured directory provider.
func newProvider(cfg *config.Config, logger *slog.Logger) (directory.Provider, error) {
	switch cfg.Directory.Provider {
	case "graph":
		g := cfg.Directory.Graph
		return graph.NewClient(graph.Config{
			TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: string(g.ClientSecret),
			CertificatePEM: g.ClientCertificate, CertificatePassword: string(g.ClientCertificatePassword),
			Cloud: g.Cloud, AuthorityHost: g.AuthorityHost, GraphEndpoint: g.GraphEndpoint,
			BatchConcurrency: g.BatchConcurrency, DefaultRegion: cfg.Directory.DefaultRegion,
			Methods: g.Methods,
		}, logger)
	case "csv":
		return dircsv.New(cfg.Directory.CSV.Path, cfg.Directory.DefaultRegion, logger), nil
	}
	return nil, fmt.Errorf("directory.provider: %q: want graph or csv", cfg.Directory.Provider)
}

// newTransport builds the configured mail transport.
func newTransport(cfg *config.Config, logger *slog.Logger) (sendCloser, error) {
	m := cfg.Mail
	switch m.Transport {
	case "file":
		return email.NewFile(m.File.Dir, m.From)
	case "graph":
		endpoint := cfg.MailGraphEndpoint()
		tokens, err := mailTokens(cfg, msidentity.GraphScope(endpoint))
		if err != nil {
			return nil, err
		}
		return graphmail.New(graphmail.Config{Sender: m.Graph.Sender, Endpoint: endpoint, Tokens: tokens}, m.From, logger)
	}
	sc := email.SMTPConfig{
		Host: m.SMTP.Host, Port: m.SMTP.Port, TLS: m.SMTP.TLS,
		Username: m.SMTP.Username, Password: string(m.SMTP.Password), Timeout: time.Duration(m.SMTP.Timeout),
	}
	if cfg.SMTPAuth() == config.SMTPAuthOAuth2 {
		tokens, err := mailTokens(cfg, msidentity.ExchangeScope(cfg.MailOAuth2().Cloud))
		if err != nil {
			return nil, err
		}
		sc.Password, sc.OAuth2 = "", tokens
	}
	return email.NewSMTP(sc, m.From, m.Concurrency, logger)
}

// mailTokens returns a token source for scope with the mail transport's
// application (mail.smtp.oauth2, or directory.graph's).
func mailTokens(cfg *config.Config, scope string) (*msidentity.TokenSource, error) {
	o := cfg.MailOAuth2()
	tokens, err := msidentity.NewTokenSource(msidentity.Credentials{
		TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: string(o.ClientSecret),
		CertificatePEM: o.ClientCertificate, CertificatePassword: string(o.ClientCertificatePassword),
		Cloud: o.Cloud, AuthorityHost: o.AuthorityHost,
	}, scope)
	if err != nil {
		return nil, fmt.Errorf("mail oauth2 credentials: %w", err)
	}
	return tokens, nil
}

// userAgent is how carrierwatch introduces itself to the carriers' sites.
func userAgent() string {
	return "carrierwatch/" + Version + " (+https://github.com/carrierwatch/carrierwatch)"
}

// openApp opens the store and builds the service for cfg.
func openApp(ctx context.Context, cfg *config.Config, logger *slog.Logger, o appOptions) (_ *app, err error) {
	db, err := store.Open(ctx, filepath.Join(cfg.StateDir, store.FileName))
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, db: db}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	provider, err := newProvider(cfg, logger)
	if err != nil {
		return nil, err
	}
	tmpl, err := templates.New(cfg.Notify.TemplatesDir)
	if err != nil {
		return nil, err
	}
	deps := service.Deps{
		Store:     db,
		Templates: tmpl,
		Logger:    logger,
		Fetcher:   detector.NewFetcher(detector.Options{Logger: logger, UserAgent: userAgent()}),
		Directory: provider,
	}
	switch {
	case o.transport != nil:
		a.transport, deps.Transport = o.transport, o.transport
	case o.send:
		if a.lock, err = lockState(cfg.StateDir); err != nil {
			return nil, err
		}
		t, err := newTransport(cfg, logger)
		if err != nil {
			return nil, err
		}
		a.transport, deps.Transport = t, t
	}
	if o.metrics {
		// The service is built below; the metrics ask it at scrape time.
		a.metrics = metrics.New(db, metrics.Options{
			Version:  Version,
			Carriers: func() []string { return carrierIDs(a.svc.Config()) },
			LastPoll: func() time.Time { return a.svc.LastPoll() },
		})
		deps.Observer = a.metrics
	}
	if a.svc, err = service.New(cfg, deps); err != nil {
		return nil, err
	}
	if err := setPublisher(cfg, a.svc, logger); err != nil {
		return nil, err
	}
	if deps.Transport != nil {
		if _, err := a.svc.ResumeSending(ctx); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// carrierIDs lists the configured carriers (for the metrics).
func carrierIDs(cfg *config.Config) []string {
	ids := make([]string, len(cfg.Carriers))
	for i, c := range cfg.Carriers {
		ids[i] = c.ID
	}
	return ids
}

func (a *app) Close() error {
	var errs []error
	if a.transport != nil {
		errs = append(errs, a.transport.Close())
	}
	errs = append(errs, a.db.Close())
	if a.lock != nil {
		errs = append(errs, a.lock.Close())
	}
	return errors.Join(errs...)
}

// withApp loads the config at path and opens the app for a command.
func withApp(ctx context.Context, path string, stderr io.Writer, fn func(*app) error) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	a, err := openApp(ctx, cfg, logger, appOptions{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func cmdCheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("check-config", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%s is not valid:\n", *path)
		for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "config "+*path+": "), "\n") {
			fmt.Fprintf(stderr, "  - %s\n", line)
		}
		return errSilent
	}
	// What the file names must also work: the directory provider's
	// credentials and the template overrides.
	var problems []string
	if _, err := newProvider(cfg, newLogger(io.Discard, "text", "error")); err != nil {
		problems = append(problems, fmt.Sprintf("directory.%s: %v", cfg.Directory.Provider, err))
	}
	if _, err := templates.New(cfg.Notify.TemplatesDir); err != nil {
		problems = append(problems, fmt.Sprintf("notify.templates_dir: %v", err))
	}
	if cfg.Publish.Dir != "" {
		if _, err := publish.LoadTemplates(cfg.Publish.TemplatesDir); err != nil {
			problems = append(problems, fmt.Sprintf("publish.templates_dir: %v", err))
		}
	}
	if f := cfg.HTTP.Auth.UsersFile; f != "" {
		if _, err := console.LoadUsers(f); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s is not valid:\n", *path)
		for _, p := range problems {
			fmt.Fprintf(stderr, "  - %s\n", p)
		}
		return errSilent
	}
	for _, w := range stateWarnings(cfg) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	sources := 0
	for _, c := range cfg.Carriers {
		sources += len(c.Sources)
	}
	fmt.Fprintf(stdout, "%s: OK (%d carriers, %d sources, directory %s, mail %s)\n", *path, len(cfg.Carriers), sources, cfg.Directory.Provider, cfg.Mail.Transport)
	return nil
}
