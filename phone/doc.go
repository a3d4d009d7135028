// Package phone normalises, masks and classifies the phone numbers that users
// register for multi-factor sign-in, and decides which numbers an outage
// covers (Matcher).
//
// Everything here is a pure function over the numbering data of
// github.com/nyaruka/phonenumbers: no I/O, no logging, no global state other
// than lazily built, read-only lookup tables. Carrier names come from number
// block data and tell a number's ORIGINAL carrier only: since numbers move
// between carriers, a match is a hint, never a fact about today's carrier.
//
// It is not a directory client and not a place for per-user policy: callers
// (directory providers, the notifier) decide what to do with a number once it
// is normalised and matched.
package phone
