// Package service is carrierwatch's one core: what admins and the daemon
// do — poll, sync, plan and send; open and resolve incidents; approve and
// cancel campaigns; exposure and directory figures; message history for
// the help desk; previews of a mail; readiness — behind one type, Service.
//
// Every front end calls it: the CLI (cmd/carrierwatch), the daemon's HTTP
// handlers (health, metrics, the web console) and the publisher. Methods
// take a context first and return domain types; nothing here prints or
// formats for a terminal. Methods that change state take the actor (who
// asked: "cli:aoki", "console:aoki@example.ac.jp") and record it in the
// audit trail.
//
// The service holds no adapter of its own: New takes the store, the
// fetcher, the directory provider, the templates and the mail transport
// that cmd/carrierwatch built from the config.
package service
