// Package directory defines what a directory provider (CSV file, Microsoft
// Graph) hands to the store on each sync, and the checks and normalisation
// that every provider's output goes through. Providers live in their own
// packages (directory/csv, directory/graph) so that the Graph SDK is compiled
// only where it is used.
package directory

import (
	"context"

	"github.com/carrierwatch/carrierwatch"
)

// Provider reads users, their MFA phones and registered methods from a
// directory.
//
// Fetch is given the cursor the previous successful Fetch returned ("" the
// first time, or after the cache was reset) and returns what changed since.
// A Fetch that fails returns an error and no Update: the store keeps its last
// good data. Implementations must be safe to call from one goroutine at a
// time; they need not be safe for concurrent use.
type Provider interface {
	Fetch(ctx context.Context, cursor string, progress func(Progress)) (*Update, error)
}

// Progress is reported by providers during a long fetch.
type Progress struct {
	Stage string // "users", "methods", "phones"
	Done  int
	Total int // 0 when unknown
}

// Update is the result of one Fetch.
type Update struct {
	// Full is true when Users is the whole directory: every cached user not
	// in it is removed. When false, Users are upserts and Removed lists ids
	// to delete.
	Full    bool
	Users   []carrierwatch.User // profile fields; Phones/Methods ignored unless in Auth
	Removed []string

	// Auth carries phones and methods. When AuthFull is true it is complete:
	// a cached user absent from it has no phones and no methods. When false,
	// only the users it names are changed.
	Auth     []Auth
	AuthFull bool

	// Cursor is handed to the next Fetch (a Graph deltaLink, or "").
	Cursor string

	// Problems are per-record issues the provider skipped or repaired
	// (a malformed CSV row, an unknown phone type), for the log.
	Problems []string

	// Mode says how the provider read the methods, for `directory stats`
	// ("registration_details" or "authentication_methods" for Graph; ""
	// for a provider with one way), and ModeReason why (the licence check's
	// result, or "configured").
	Mode, ModeReason string
}

// Auth is the MFA registration of one user.
type Auth struct {
	UserID  string
	Phones  []carrierwatch.Phone // Raw and Type set; E164 filled by Normalize
	Methods []string
	// ResetEmail is the address the user registered for self-service
	// password reset (Graph's emailAuthenticationMethod), "" when none. It
	// is the first alternate address mail goes to.
	ResetEmail string
}
