package templates

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
)

var linkPlaceholder = regexp.MustCompile(`\{(upn|masked_phone|carrier|incident)\}`)

// FillLink fills the placeholders a support form link may carry so that
// prefill links of Microsoft Forms or Google Forms work: {upn},
// {masked_phone}, {carrier} and {incident} become the values given,
// URL-encoded (incident 0 and empty values leave nothing). Other text is
// kept as it is.
func FillLink(link, upn, maskedPhone, carrier string, incident int64) string {
	return linkPlaceholder.ReplaceAllStringFunc(link, func(m string) string {
		switch m {
		case "{upn}":
			return url.QueryEscape(upn)
		case "{masked_phone}":
			return url.QueryEscape(maskedPhone)
		case "{carrier}":
			return url.QueryEscape(carrier)
		case "{incident}":
			if incident == 0 {
				return ""
			}
			return strconv.FormatInt(incident, 10)
		}
		return m
	})
}

// SupportFormURL is Links.SupportForm with its placeholders filled for
// this mail's user and incident (see FillLink); "" when there is no form.
func (d Data) SupportFormURL() string {
	phone := ""
	if len(d.AffectedPhones) > 0 {
		phone = d.AffectedPhones[0]
	}
	return FillLink(d.Links.SupportForm, d.UPN, phone, d.CarrierName, d.IncidentID)
}

// PhoneChoice is one of a user's other registered numbers and how it can
// verify a sign-in.
type PhoneChoice struct {
	Number string // masked
	// CallOnly is true for numbers that take voice calls only: Entra
	// sends text messages to the mobile phone method alone, so an
	// alternate mobile or office number is called.
	CallOnly bool
}

// OtherPhoneChoices lists OtherPhones with how each can verify.
func (d Data) OtherPhoneChoices() []PhoneChoice {
	out := make([]PhoneChoice, 0, len(d.OtherPhones))
	for _, p := range d.OtherPhones {
		out = append(out, PhoneChoice{Number: p, CallOnly: slices.Contains(d.OtherCallOnly, p)})
	}
	return out
}
