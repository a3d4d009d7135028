// Package email delivers rendered mails (carrierwatch.Mail): over SMTP with
// a small pool of reused connections, or into a directory as one .eml file
// per message. Build turns a Mail into the MIME message both transports
// write: multipart/alternative text and HTML in UTF-8 with the
// X-Carrierwatch-* headers of DESIGN.md's contract.
//
// The SMTP transport talks through go-mail's SMTP client (MAIL FROM, RCPT
// TO for each recipient, DATA) and reports the server's verdict on each
// recipient (carrierwatch.Delivery: accepted, deferred or refused, with the
// reply, addresses masked); a reply to MAIL FROM or DATA concerns the whole
// message. On a mail's first attempts it holds the mail back when one
// recipient defers it while another accepts. Failures without a verdict (a
// server gone away, a timeout, a TLS or login failure) are temporary
// *carrierwatch.SendError values, a mail that cannot be built a permanent
// one. The package does not render, rate-limit, queue or retry: the
// notifier's outbox does that, from the verdicts.
package email
