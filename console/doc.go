// Package console is carrierwatch's web console for the identity team and
// the help desk: server-rendered pages (overview, incident, campaign, help
// desk, exposure, mail preview) served on http.listen beside /healthz,
// /readyz and /metrics.
//
// It is a thin front end. Every page and action calls the service layer
// through the small interfaces in service.go; the console holds no business
// logic and never reads the store. What it adds is what a browser needs:
// html/template pages embedded in the binary (no external assets; every page
// works without JavaScript, a small same-origin script refreshes progress),
// Japanese and English by Accept-Language with a switch, authentication
// (loopback trust, an htpasswd-style bcrypt users file, or a trusted
// reverse proxy), CSRF protection for every POST and strict response
// headers.
//
// Personal data: phone numbers are shown only masked; addresses only masked,
// except on one user's help-desk page.
package console
