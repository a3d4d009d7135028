// Package detector turns carriers' outage notices into classified signals.
//
// It fetches sources (RSS/Atom/JSON feeds and HTML notice pages) politely —
// conditional GET, a response size cap, a whole-request timeout, bounded
// redirects, exponential backoff with jitter and Retry-After — decodes their
// charset (Shift_JIS pages and feeds are common), extracts notices with
// NFKC-normalised text and a content hash, and classifies a notice's text with
// substring or regexp rules into outage, not-resolved, resolved, ignored or
// no-match. A statuspage source (an Atlassian Statuspage's JSON API) is one
// notice whose verdict the page's own statuses state, without text rules.
//
// It is not the incident logic: it keeps no history, does not decide whether a
// notice is new (callers dedupe on the source and Notice.Hash and store State
// between polls), opens no incident and sends nothing. It imports nothing
// else of carrierwatch.
package detector
