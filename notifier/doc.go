// Package notifier decides who is told what and gets the mails out.
//
// Matching and segmenting are pure functions: a user is affected by an
// incident when one of their registered phones is covered by the carrier's
// match rules, and their segment (app, other-phone, phone-only) follows from
// the methods they registered (DESIGN.md, "Segments"). The Planner turns an
// incident into outbox messages, idempotently: one message per (incident,
// user, kind), so planning again after a config reload or a directory sync
// mails only the newly affected. The Dispatcher sends the outbox with a
// bounded number of workers, a global rate limit, retries with backoff for
// temporary failures and a recorded reply for permanent ones.
//
// The notifier does not render templates or speak SMTP: it is given a
// RenderFunc and a Transport.
package notifier
