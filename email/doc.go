// Package email delivers rendered mails (carrierwatch.Mail): over SMTP with
// a small pool of reused connections, or into a directory as one .eml file
// per message. Build turns a Mail into the MIME message both transports
// write: multipart/alternative text and HTML in UTF-8 with the
// X-Carrierwatch-* headers of DESIGN.md's contract.
//
// Delivery failures are *carrierwatch.SendError values: temporary (4xx for
// every recipient, a server gone away, a timeout, a TLS or login failure),
// permanent (5xx for every recipient), or Refused (5xx to MAIL FROM or
// DATA: the relay refuses the message, perhaps every message, e.g. a
// sending quota). When some recipients accept, the mail goes to them and
// the refused ones are logged masked. The package does not render,
// rate-limit, queue or retry: the notifier's outbox does that.
package email
