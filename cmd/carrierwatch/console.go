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
	return console.New(console.Options{Service: d.svc, Auth: auth, Logger: d.logger})
}
