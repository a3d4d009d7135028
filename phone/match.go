package phone

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// MatchSpec is a carrier's `match` configuration: which numbers an outage of
// that carrier covers. Every part is a hint (numbers move between carriers);
// a number is covered when any part covers it.
type MatchSpec struct {
	// Carriers are original-carrier names of the numbering data's blocks
	// ("KDDI", "Okinawa Cellular"), matched case-insensitively. Only names
	// that the data uses for Japanese mobile blocks are accepted (see
	// KnownCarriers); numbers of other countries can be covered by
	// Prefixes or AllMobile.
	Carriers []string
	// Prefixes are number prefixes: "+8190", "+81 90", "+81 090", or
	// national "090" in DefaultRegion.
	Prefixes []string
	// PrefixLines are the lines of prefix files, already read by the
	// caller: one prefix per line; blank lines and '#' comments (whole-line
	// or trailing) are ignored.
	PrefixLines []string
	// AllMobile is a region code ("JP"): every mobile number of that region
	// is covered. "" covers none.
	AllMobile string
	// AllPhones covers every valid number of any country and any type
	// (mobile, landline, VoIP): the carrier is the tenant's telephony
	// provider or its own PBX, whose outage stops SMS and voice for
	// everyone. It excludes the other fields, which would narrow nothing.
	AllPhones bool
	// DefaultRegion is the region of national prefixes ("090…"); "" means
	// "JP".
	DefaultRegion string
}

// Matcher decides which numbers a carrier's outage covers. It is built by
// NewMatcher and is safe for concurrent use. Prefixes and the carriers of
// Japanese mobile blocks are answered from tables in well under a
// microsecond; other numbers are looked up in the numbering data (a few
// microseconds) and the answer is remembered (up to about a million
// numbers), so matching the same directory again for a later incident is
// cheap.
type Matcher struct {
	prefixes   map[string]*verdict
	prefixLens []int // distinct prefix lengths, longest first

	carriers []*verdict // reason "carrier X", canonical names
	byBlock  []*verdict // jpBlocks.table value → verdict, nil when not wanted

	allMobile   string
	allMobileCC string // "+81"
	allMobileV  *verdict

	allPhones bool

	cache  sync.Map // e164 → *verdict, only when carriers or allMobile are set
	cached atomic.Int64
}

// verdict is one answer of Match, shared by every number with that answer.
type verdict struct {
	ok     bool
	reason string
	name   string // carrier name for carrier verdicts
}

var (
	noMatch    = &verdict{}
	allPhonesV = &verdict{ok: true, reason: "all_phones"}
)

// maxCached bounds the numbers a Matcher remembers (about 100 bytes each).
const maxCached = 1 << 20

// NewMatcher validates spec and builds its Matcher. It returns every
// problem at once (errors.Join), each naming the field and index:
//
//	prefixes[1]: "+8l90" is not a phone prefix: unexpected character 'l'
//	all_mobile: "XX" is not a region code
//	carriers[0]: "KDD" is not a carrier the numbering data knows (known JP carriers: KDDI, …)
//	all_phones: covers every phone already; remove carriers, prefixes, prefix_files and all_mobile
//
// A spec that covers nothing is an error too. The first NewMatcher with
// Carriers scans the numbering data for the known carrier names, which
// takes a fraction of a second.
func NewMatcher(spec MatchSpec) (*Matcher, error) {
	m := &Matcher{prefixes: map[string]*verdict{}}
	var errs []error
	region := spec.DefaultRegion
	if strings.TrimSpace(region) == "" {
		region = "JP"
	}

	if len(spec.Carriers) > 0 {
		known := blocks().index
		for i, c := range spec.Carriers {
			name := strings.TrimSpace(c)
			if name == "" {
				errs = append(errs, fmt.Errorf("carriers[%d]: empty carrier name", i))
				continue
			}
			canon, ok := known[strings.ToLower(name)]
			if !ok {
				errs = append(errs, fmt.Errorf("carriers[%d]: %q is not a carrier the numbering data knows (known JP carriers: %s)",
					i, name, strings.Join(KnownCarriers(), ", ")))
				continue
			}
			if !slices.ContainsFunc(m.carriers, func(v *verdict) bool { return v.name == canon }) {
				m.carriers = append(m.carriers, &verdict{ok: true, reason: "carrier " + canon, name: canon})
			}
		}
	}

	addPrefix := func(field string, raw string) {
		p, err := NormalizePrefix(raw, region)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a phone prefix: %w", field, raw, err))
			return
		}
		if _, dup := m.prefixes[p]; !dup {
			m.prefixes[p] = &verdict{ok: true, reason: "prefix " + p}
		}
	}
	for i, p := range spec.Prefixes {
		addPrefix(fmt.Sprintf("prefixes[%d]", i), p)
	}
	for i, line := range spec.PrefixLines {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		addPrefix(fmt.Sprintf("prefix_lines[%d] (line %d)", i, i+1), strings.TrimSpace(line))
	}
	for p := range m.prefixes {
		if !slices.Contains(m.prefixLens, len(p)) {
			m.prefixLens = append(m.prefixLens, len(p))
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(m.prefixLens)))

	if am := strings.TrimSpace(spec.AllMobile); am != "" {
		r := strings.ToUpper(am)
		if cc := phonenumbers.GetCountryCodeForRegion(r); cc == 0 {
			errs = append(errs, fmt.Errorf("all_mobile: %q is not a region code (use ISO 3166 codes such as JP)", am))
		} else {
			m.allMobile = r
			m.allMobileCC = fmt.Sprintf("+%d", cc)
			m.allMobileV = &verdict{ok: true, reason: "all_mobile " + r}
		}
	}

	if len(m.carriers) > 0 {
		b := blocks()
		m.byBlock = make([]*verdict, len(b.names)+1)
		for i, name := range b.names {
			for _, v := range m.carriers {
				if v.name == name {
					m.byBlock[i+1] = v
				}
			}
		}
	}

	if spec.AllPhones {
		if len(spec.Carriers)+len(spec.Prefixes)+len(m.prefixes) > 0 || strings.TrimSpace(spec.AllMobile) != "" {
			errs = append(errs, errors.New("all_phones: covers every phone already; remove carriers, prefixes, prefix_files and all_mobile"))
		}
		m.allPhones = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(m.carriers) == 0 && len(m.prefixes) == 0 && m.allMobile == "" && !m.allPhones {
		return nil, errors.New("match: covers no number: set carriers, prefixes, prefix_files, all_mobile or all_phones")
	}
	return m, nil
}

// Match reports whether the E.164 number e164 is covered, and why:
// "prefix +81908", "carrier KDDI", "all_mobile JP" or "all_phones".
// Prefixes are checked first (the longest wins), then carriers, then
// all_mobile. Input that is not an E.164 number is not covered, not even
// by all_phones.
func (m *Matcher) Match(e164 string) (ok bool, reason string) {
	v := m.match(e164)
	return v.ok, v.reason
}

func (m *Matcher) match(e164 string) *verdict {
	if len(e164) < 3 || len(e164) > 16 || e164[0] != '+' {
		return noMatch
	}
	for i := 1; i < len(e164); i++ {
		if e164[i] < '0' || e164[i] > '9' {
			return noMatch
		}
	}
	if m.allPhones {
		return allPhonesV
	}
	for _, l := range m.prefixLens {
		if l <= len(e164) {
			if v, ok := m.prefixes[e164[:l]]; ok {
				return v
			}
		}
	}
	askCarrier := len(m.carriers) > 0
	if askCarrier {
		// Japanese mobiles: the block table answers exactly what the
		// library would, without parsing.
		if i, ok := jpBlock(e164); ok {
			if v := m.byBlock[blocks().table[i]]; v != nil {
				return v
			}
			askCarrier = false
		}
	}
	if !askCarrier && m.allMobile == "" {
		return noMatch
	}
	if v, ok := m.cache.Load(e164); ok {
		return v.(*verdict)
	}
	v := m.lookup(e164, askCarrier)
	if m.cached.Load() < maxCached {
		if _, loaded := m.cache.LoadOrStore(e164, v); !loaded {
			m.cached.Add(1)
		}
	}
	return v
}

// lookup asks the numbering data (slow: microseconds).
func (m *Matcher) lookup(e164 string, askCarrier bool) *verdict {
	n := parseE164(e164)
	if n == nil {
		return noMatch
	}
	if askCarrier {
		if c, err := phonenumbers.GetCarrierForNumber(n, "en"); err == nil && c != "" {
			for _, v := range m.carriers {
				if strings.EqualFold(v.name, c) {
					return v
				}
			}
		}
	}
	if m.allMobile != "" && strings.HasPrefix(e164, m.allMobileCC) &&
		phonenumbers.GetRegionCodeForNumber(n) == m.allMobile && isMobile(n) {
		return m.allMobileV
	}
	return noMatch
}

// jpBlocks is the carrier data of every Japanese mobile block at the finest
// resolution the library's lookup uses: it reads at most the first ten
// characters of an E.164 number ("+81" and seven national digits). Index
// (lead-6)*100000 + the five digits after "+81<lead>0" holds 1 + the index
// of the carrier's name in names, or 0 when the data names none.
type jpBlocks struct {
	names []string          // sorted
	index map[string]string // lower-case name → name
	table []uint8
}

// jpLeads are the first national digits of Japanese mobile numbers: 060
// (reserved for mobiles), 070, 080 and 090.
const jpLeadFirst, jpLeadLast = 6, 9

// blocks scans the carrier data once, on first use (a fraction of a second).
var blocks = sync.OnceValue(func() *jpBlocks {
	raw := make([]string, (jpLeadLast-jpLeadFirst+1)*100000)
	seen := map[string]bool{}
	cc := int32(81)
	var nn uint64
	n := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
	for lead := uint64(jpLeadFirst); lead <= jpLeadLast; lead++ {
		for i := uint64(0); i < 100000; i++ {
			nn = ((lead*10)*100000 + i) * 1000 // e.g. 90 12345 000
			c, err := phonenumbers.GetCarrierForNumber(n, "en")
			if err != nil || c == "" {
				continue
			}
			raw[(lead-jpLeadFirst)*100000+i] = c
			seen[c] = true
		}
	}
	b := &jpBlocks{index: map[string]string{}, table: make([]uint8, len(raw))}
	for c := range seen {
		b.names = append(b.names, c)
	}
	sort.Strings(b.names)
	if len(b.names) > 254 {
		panic("phone: more carrier names than the block table can hold")
	}
	pos := map[string]uint8{}
	for i, c := range b.names {
		b.index[strings.ToLower(c)] = c
		pos[c] = uint8(i + 1)
	}
	for i, c := range raw {
		if c != "" {
			b.table[i] = pos[c]
		}
	}
	return b
})

// jpBlock returns the table slot of a canonical Japanese mobile E.164
// number ("+81" [6-9] "0" and at least five more digits).
func jpBlock(e164 string) (int, bool) {
	if len(e164) < 10 || e164[1] != '8' || e164[2] != '1' || e164[3] < '0'+jpLeadFirst || e164[3] > '0'+jpLeadLast || e164[4] != '0' {
		return 0, false
	}
	i := int(e164[3]-'0'-jpLeadFirst) * 100000
	mul := 10000
	for _, c := range e164[5:10] {
		if c < '0' || c > '9' {
			return 0, false
		}
		i += int(c-'0') * mul
		mul /= 10
	}
	return i, true
}

// KnownCarriers returns the carrier names that the numbering data uses for
// Japanese mobile number blocks, sorted ("KDDI", "NTT Docomo", …). The
// first call scans the data.
func KnownCarriers() []string {
	return slices.Clone(blocks().names)
}
