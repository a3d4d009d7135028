package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/publish"
	"github.com/carrierwatch/carrierwatch/service"
)

// newPublisher builds the notice page publisher for cfg, or nil when
// publish.dir is not set.
func newPublisher(cfg *config.Config, svc *service.Service, logger *slog.Logger) (*publish.Publisher, error) {
	if cfg.Publish.Dir == "" {
		return nil, nil
	}
	author := ""
	if a, err := mail.ParseAddress(cfg.Mail.From); err == nil {
		author = a.Name
	}
	p, err := publish.New(svc, publish.Options{
		Dir: cfg.Publish.Dir, BaseURL: cfg.Publish.BaseURL, TemplatesDir: cfg.Publish.TemplatesDir, Author: author,
		Links: publish.Links{SupportForm: cfg.Notify.Links.SupportForm, SupportFormWithoutSignIn: cfg.Notify.Links.SupportFormWithoutSignIn, MFASetup: cfg.Notify.Links.MFASetup},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return p, nil
}

// setPublisher installs cfg's publisher on the engine (none when
// publish.dir is not set).
func setPublisher(cfg *config.Config, svc *service.Service, logger *slog.Logger) error {
	p, err := newPublisher(cfg, svc, logger)
	if err != nil {
		return err
	}
	if p == nil {
		svc.SetPublisher(nil) // not a typed nil
	} else {
		svc.SetPublisher(p)
	}
	return nil
}

func cmdPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("publish", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("publish takes no arguments")
	}
	return withApp(ctx, *path, stderr, func(a *app) error {
		p, err := newPublisher(a.cfg, a.svc, a.logger)
		if err != nil {
			return err
		}
		if p == nil {
			return errors.New("publish.dir is not set: set the folder the notice pages are written into")
		}
		res, err := p.Publish(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %d incidents into %s: %d files rewritten, %d removed\n",
			res.Incidents, a.cfg.Publish.Dir, len(res.Written), len(res.Removed))
		return nil
	})
}

// servePublish serves publish.dir read-only on publish.listen, its own
// listener with nothing else on it; nil when publish.listen is not set.
func (d *daemon) servePublish() (*http.Server, error) {
	addr := d.cfg.Publish.Listen
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("publish.listen: %w", err)
	}
	srv := &http.Server{Handler: publish.Handler(d.cfg.Publish.Dir), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("notice page server stopped", "err", err)
		}
	}()
	d.logger.Info("serving the notice pages", "addr", ln.Addr().String(), "dir", d.cfg.Publish.Dir)
	return srv, nil
}
