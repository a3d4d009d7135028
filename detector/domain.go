package detector

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// RegistrableDomain returns the registrable domain (eTLD+1) of rawURL's
// host, lower-cased: "au.com" for https://www.au.com/information/, and the
// host itself for an IP address or a name the public suffix list cannot
// reduce. "" when rawURL has no host.
func RegistrableDomain(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// SameSite reports whether link belongs to the registrable domain of
// source: a notice link that leaves the carrier's site is not the
// carrier's notice (a hijacked feed must not put a phishing link into
// official mails).
func SameSite(source, link string) bool {
	d := RegistrableDomain(source)
	return d != "" && d == RegistrableDomain(link)
}

// listedDateRe finds the date an index lists beside an item: 2024年1月1日,
// 2024.01.01, 2024/1/1, 2024-01-01.
var listedDateRe = regexp.MustCompile(`((?:19|20)\d{2})\s*(?:年|\.|/|-)\s*(\d{1,2})\s*(?:月|\.|/|-)\s*(\d{1,2})`)

// ListedDate returns the first date in text as midnight in Japan time, zero
// when there is none or it is not a real date.
func ListedDate(text string) time.Time {
	m := listedDateRe.FindStringSubmatch(text)
	if m == nil {
		return time.Time{}
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, jst)
	if mo < 1 || mo > 12 || d < 1 || t.Day() != d {
		return time.Time{}
	}
	return t
}
