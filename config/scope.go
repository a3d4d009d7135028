package config

import (
	"fmt"
	"net/mail"

	"github.com/carrierwatch/carrierwatch/detector"
)

// validateScope checks notify.regional, notify.home_regions and
// notify.admins.
func (n *Notify) validateScope() []error {
	var errs []error
	switch n.Regional {
	case RegionalApprove, RegionalNotify, RegionalIgnore:
	case "":
		n.Regional = RegionalApprove
	default:
		errs = append(errs, fmt.Errorf("notify.regional: %q: want approve, notify or ignore", n.Regional))
	}
	for i, r := range n.HomeRegions {
		if !detector.KnownArea(detector.Normalize(r)) {
			errs = append(errs, fmt.Errorf("notify.home_regions[%d]: %q is not a prefecture (東京都, 大阪府, 北海道) or a region (関東, 東日本, 九州, …)", i, r))
		}
	}
	for i, a := range n.Admins {
		if _, err := mail.ParseAddress(a); err != nil {
			errs = append(errs, fmt.Errorf("notify.admins[%d]: %q is not a mail address: %v", i, a, err))
		}
	}
	return errs
}
