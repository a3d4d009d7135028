package notifier

import (
	"log/slog"
	"sync"

	"github.com/carrierwatch/carrierwatch"
)

// wayIn lists the methodsRegistered names that let a user sign in without a
// phone. Phones and the names in notWayIn are known but do not count.
var wayIn = map[string]bool{
	"microsoftAuthenticatorPush":         true,
	"microsoftAuthenticatorPasswordless": true,
	"softwareOneTimePasscode":            true,
	"hardwareOneTimePasscode":            true,
	"fido2":                              true,
	"fido2SecurityKey":                   true,
	"passKeyDeviceBound":                 true,
	"passKeyDeviceBoundAuthenticator":    true,
	"passKeyDeviceBoundWindowsHello":     true,
	"passKeySynced":                      true,
	"windowsHelloForBusiness":            true,
	"macOsSecureEnclaveKey":              true,
	"externalAuthMethod":                 true,
}

var notWayIn = map[string]bool{
	"mobilePhone":          true,
	"alternateMobilePhone": true,
	"officePhone":          true,
	"email":                true, // self-service password reset only
	"securityQuestion":     true,
	"temporaryAccessPass":  true, // issued by staff: that is what a reset is
	"none":                 true,
}

// Coverage says whether an E.164 number is covered by an incident.
type Coverage func(e164 string) bool

// Assessment is what an incident means for one user.
type Assessment struct {
	Affected bool
	Segment  carrierwatch.Segment
	Covered  []carrierwatch.Phone // registered phones the incident covers
	Other    []carrierwatch.Phone // registered phones it does not cover
}

// MethodLog logs each unknown method name once. The zero value is ready;
// it is safe for concurrent use.
type MethodLog struct {
	seen sync.Map
}

func (l *MethodLog) unknown(logger *slog.Logger, name string) {
	if l == nil || logger == nil {
		return
	}
	if _, loaded := l.seen.LoadOrStore(name, true); !loaded {
		logger.Warn("unknown registered method name; it does not count as a way to sign in", "method", name)
	}
}

// HasWayIn reports whether the user registered a method that works without
// a phone. Unknown names are reported to ml and do not count.
func HasWayIn(u *carrierwatch.User, ml *MethodLog, logger *slog.Logger) bool {
	ok := false
	for _, m := range u.Methods {
		switch {
		case wayIn[m]:
			ok = true
		case !notWayIn[m]:
			ml.unknown(logger, m)
		}
	}
	return ok
}

// Assess decides whether a user is affected by an incident whose coverage
// is covered, and which segment they are in. A phone whose number could not
// be parsed is never covered, and never counted as another way in either.
func Assess(u *carrierwatch.User, covered Coverage, ml *MethodLog, logger *slog.Logger) Assessment {
	var a Assessment
	for _, p := range u.Phones {
		if p.E164 == "" {
			continue
		}
		if covered(p.E164) {
			a.Covered = append(a.Covered, p)
		} else {
			a.Other = append(a.Other, p)
		}
	}
	if len(a.Covered) == 0 {
		return a
	}
	a.Affected = true
	switch {
	case HasWayIn(u, ml, logger):
		a.Segment = carrierwatch.SegmentApp
	case len(a.Other) > 0:
		a.Segment = carrierwatch.SegmentOtherPhone
	default:
		a.Segment = carrierwatch.SegmentPhoneOnly
	}
	return a
}

// PhoneOnly reports whether a user signs in only with phones: at least one
// phone registered and no other way in. These users get the preparedness
// mail.
func PhoneOnly(u *carrierwatch.User, ml *MethodLog, logger *slog.Logger) bool {
	hasPhone := false
	for _, p := range u.Phones {
		if p.Raw != "" {
			hasPhone = true
		}
	}
	return hasPhone && !HasWayIn(u, ml, logger)
}

// Addresses returns where to deliver a user's mail, in the order of
// deliverTo ("alternate", "primary"), without duplicates.
func Addresses(u *carrierwatch.User, deliverTo []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if a == "" {
			return
		}
		k := lower(a)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, a)
	}
	for _, d := range deliverTo {
		switch d {
		case "alternate":
			for _, a := range u.AlternateEmails {
				add(a)
			}
		case "primary":
			add(u.Mail)
		}
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
