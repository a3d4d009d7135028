// Package templates renders the mails carrierwatch sends: the subject, a
// plain-text body and an HTML body for each kind (outage, resolved,
// preparedness), segment (app, other-phone, phone-only) and language (ja,
// en), with the University of Tokyo's 2022 recovery guidance as content.
//
// The templates are embedded in the binary; an administrator can override
// any of them by placing a file of the same name in a directory (see New),
// to change the wording without rebuilding. Subjects and text bodies use
// text/template, HTML bodies html/template, so feed-derived values such as
// an incident's title are escaped in HTML.
//
// It does not choose who gets which mail, mask phone numbers, or send
// anything: callers pass already-masked numbers and get strings back.
package templates
