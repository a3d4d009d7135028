// Package email delivers rendered mails (carrierwatch.Mail): over SMTP with
// a small pool of reused connections, or into a directory as one .eml file
// per message. Build turns a Mail into the MIME message both transports
// write: multipart/alternative text and HTML in UTF-8 with the
// X-Carrierwatch-* headers of DESIGN.md's contract.
//
// Delivery failures are *carrierwatch.SendError values that tell a retry
// (4xx, a server gone away, a timeout, a TLS failure) from a permanent
// refusal (5xx). It does not render, rate-limit, queue or retry: the
// notifier's outbox does that.
package email
