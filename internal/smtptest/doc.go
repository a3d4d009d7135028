// Package smtptest runs a small in-process SMTP server on 127.0.0.1 for
// tests and benchmarks of the mail transport: plain, STARTTLS or implicit
// TLS, optional AUTH PLAIN, per-recipient and DATA failures on demand, and
// a stop/restart on the same address to play a server that goes away.
//
// It records what it receives (or only counts it, with Options.Discard) and
// counts connections, so tests can assert on headers, bodies and connection
// reuse. It is not a mail server: it delivers nothing, and it is meant for
// loopback traffic of tests only.
package smtptest
