package directory

import (
	"fmt"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/phone"
)

// NormalizePhones returns a copy of phones with E164 and Extension filled
// from Raw by phone.Normalize, numbers without a country code taken as
// defaultRegion's ("JP"). A phone whose number is not valid is kept with
// E164 and Extension empty, so the user is still known to have a phone,
// and is described in problems ("office phone: normalize phone ***34:
// invalid phone number: too short for JP (+81): kept without E.164"), which
// never hold the full number; the caller prefixes the user. The input slice
// is not modified.
func NormalizePhones(phones []carrierwatch.Phone, defaultRegion string) (out []carrierwatch.Phone, problems []string) {
	if phones == nil {
		return nil, nil
	}
	out = make([]carrierwatch.Phone, len(phones))
	for i, p := range phones {
		p.E164, p.Extension = "", ""
		e164, ext, err := phone.Normalize(p.Raw, defaultRegion)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s phone: %v: kept without E.164", p.Type, err))
		} else {
			p.E164, p.Extension = e164, ext
		}
		out[i] = p
	}
	return out, problems
}
