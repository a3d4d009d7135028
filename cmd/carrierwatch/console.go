package main

import (
	"net/http"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/console"
)

// consoleAuth turns http.auth into the console's settings.
func consoleAuth(a config.HTTPAuth) (console.AuthConfig, error) {
	prefixes, err := config.ParsePrefixes(a.TrustedProxy)
	if err != nil {
		return console.AuthConfig{}, err
	}
	return console.AuthConfig{UsersFile: a.UsersFile, TrustedProxies: prefixes, Header: a.Header}, nil
}

// newConsole builds the web console served beside /healthz, /readyz and
// /metrics.
func (d *daemon) newConsole() (http.Handler, error) {
	auth, err := consoleAuth(d.cfg.HTTP.Auth)
	if err != nil {
		return nil, err
	}
	con, err := console.New(console.Options{Service: d.svc, Auth: auth, Logger: d.logger})
	if err != nil {
		return nil, err
	}
	d.console = con
	return con, nil
}

// reloadConsoleUsers reads the console's users file again on SIGHUP.
func (d *daemon) reloadConsoleUsers() {
	if d.console == nil || d.cfg.HTTP.Auth.UsersFile == "" {
		return
	}
	if err := d.console.ReloadUsers(); err != nil {
		d.logger.Error("console users file not reloaded; keeping the users read before", "err", err)
		return
	}
	d.logger.Info("console users file reloaded", "users_file", d.cfg.HTTP.Auth.UsersFile)
}
