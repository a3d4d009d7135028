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
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	dircsv "github.com/carrierwatch/carrierwatch/directory/csv"
	"github.com/carrierwatch/carrierwatch/directory/graph"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
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

// app is everything a command that touches the state needs.
type app struct {
	cfg       *config.Config
	logger    *slog.Logger
	db        *store.DB
	engine    *pipeline.Engine
	transport interface {
		notifier.Transport
		Close() error
	}
	dispatcher *notifier.Dispatcher
	renderer   *pipeline.Renderer
	lock       *os.File // held while this process sends (startSending)
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
			BatchConcurrency: g.BatchConcurrency,
		}, logger)
	default:
		return dircsv.New(cfg.Directory.CSV.Path, logger), nil
	}
}

// newTransport builds the configured mail transport.
func newTransport(cfg *config.Config, logger *slog.Logger) (interface {
	notifier.Transport
	Close() error
}, error) {
	m := cfg.Mail
	if m.Transport == "file" {
		return email.NewFile(m.File.Dir, m.From)
	}
	return email.NewSMTP(email.SMTPConfig{
		Host: m.SMTP.Host, Port: m.SMTP.Port, TLS: m.SMTP.TLS,
		Username: m.SMTP.Username, Password: string(m.SMTP.Password), Timeout: time.Duration(m.SMTP.Timeout),
	}, m.From, m.Concurrency, logger)
}

// openApp opens the store and builds the pipeline for cfg.
func openApp(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*app, error) {
	db, err := store.Open(ctx, filepath.Join(cfg.StateDir, store.FileName))
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, db: db}
	provider, err := newProvider(cfg, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	tmpl, err := templates.New(cfg.Notify.TemplatesDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.engine = &pipeline.Engine{
		Store:     db,
		Fetcher:   detector.NewFetcher(detector.Options{Logger: logger, UserAgent: "carrierwatch/" + Version + " (+https://github.com/carrierwatch/carrierwatch)"}),
		Directory: provider,
		Logger:    logger,
		Methods:   &notifier.MethodLog{},
	}
	a.engine.SetConfig(cfg)
	a.renderer = &pipeline.Renderer{Engine: a.engine, Templates: tmpl}
	return a, nil
}

// startSending builds the transport and dispatcher (commands that send).
func (a *app) startSending(ctx context.Context, observer notifier.Observer) error {
	lock, err := lockState(a.cfg.StateDir)
	if err != nil {
		return err
	}
	a.lock = lock
	t, err := newTransport(a.cfg, a.logger)
	if err != nil {
		return err
	}
	a.transport = t
	n, err := a.db.RequeueSending(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		a.logger.Warn("messages were on the wire when carrierwatch last stopped; sending them again (a user may get one twice)", "messages", n)
	}
	a.dispatcher = notifier.NewDispatcher(a.db, t, a.renderer.Render, notifier.DispatcherConfig{
		Workers: a.cfg.Mail.Concurrency, RatePerSecond: a.cfg.Mail.RatePerSecond,
	}, a.logger, observer)
	a.engine.Dispatcher = a.dispatcher
	return nil
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
	a, err := openApp(ctx, cfg, logger)
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
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s is not valid:\n", *path)
		for _, p := range problems {
			fmt.Fprintf(stderr, "  - %s\n", p)
		}
		return errSilent
	}
	sources := 0
	for _, c := range cfg.Carriers {
		sources += len(c.Sources)
	}
	fmt.Fprintf(stdout, "%s: OK (%d carriers, %d sources, directory %s, mail %s)\n", *path, len(cfg.Carriers), sources, cfg.Directory.Provider, cfg.Mail.Transport)
	return nil
}
