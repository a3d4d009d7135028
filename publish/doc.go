// Package publish writes carrierwatch's public notice pages: static files
// an organisation's web server serves as they are, so that users who
// cannot be reached by mail (no alternate address, the mailbox behind the
// MFA they cannot pass) find the way back into their account on the
// organisation's website.
//
// A Publisher renders, from the incidents its Source lists, index.html and
// index.en.html (current and recent incidents), incident-<id>.html and
// incident-<id>.en.html (one incident, with the University of Tokyo's 2022
// guidance in three sections) and notices.atom (an Atom entry per
// incident). Each file is replaced atomically (a temporary file in the
// same folder, fsync, rename) and only when its content changed, so
// Publish is cheap enough to call after every poll cycle and a reader
// never sees half a file.
//
// The page templates are embedded in the binary and overridable from a
// folder, like the mail templates of package templates: a file named like
// an embedded one ("ja.incident.html", "common.html", … see the pages
// folder of this package) replaces it; a name with a language prefix that
// matches no template is an error. The Atom feed is built with
// encoding/xml, not a template, so it is always well-formed.
//
// Handler serves the folder read-only. The package holds no business
// logic: which incidents may be shown (an incident whose campaign awaits
// approval is not) is the Source's answer, passed in Notice.Held. It never
// sees users: pages carry no personal data and no user counts.
package publish
