// Package carrierwatch holds the domain types shared by every part of the
// daemon: users and their MFA phones and methods, incidents, segments and the
// mails planned for them. It imports nothing of ours and does no I/O; the
// adapters (store, directory providers, email, notifier) speak in these types.
package carrierwatch

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// PhoneType is the Graph phoneType of a registered phone method.
type PhoneType string

// Phone types as Microsoft Graph names them.
const (
	PhoneMobile          PhoneType = "mobile"
	PhoneAlternateMobile PhoneType = "alternateMobile"
	PhoneOffice          PhoneType = "office"
)

// Phone is one phone registered for MFA.
type Phone struct {
	Type PhoneType
	// Raw is the number as the directory stores it ("+81 9012345678",
	// "+81 090-1234-5678", …).
	Raw string
	// E164 is the normalised number ("+819012345678"); empty when Raw could
	// not be parsed as a valid number.
	E164 string
	// Extension is the "x123" part of Raw, without the x; usually empty.
	Extension string
}

// User is a directory user with what matters for MFA recovery.
type User struct {
	ID                string
	UPN               string
	DisplayName       string
	Mail              string   // primary address, in the organisation's mailbox
	AlternateEmails   []string // otherMails and the SSPR e-mail method, in order
	PreferredLanguage string   // as the directory stores it ("ja-JP", "en-US", "")
	Phones            []Phone
	// Methods are Graph methodsRegistered names ("mobilePhone",
	// "microsoftAuthenticatorPush", "fido2", …).
	Methods []string
}

// Segment says which guidance a user receives for an incident.
type Segment string

// Segments, as in DESIGN.md.
const (
	SegmentApp        Segment = "app"
	SegmentOtherPhone Segment = "other-phone"
	SegmentPhoneOnly  Segment = "phone-only"
)

// Valid reports whether s is one of the known segments.
func (s Segment) Valid() bool {
	return s == SegmentApp || s == SegmentOtherPhone || s == SegmentPhoneOnly
}

// Kind is the kind of a mail: X-Carrierwatch-Kind.
type Kind string

// Mail kinds.
const (
	KindOutage       Kind = "outage"
	KindResolved     Kind = "resolved"
	KindPreparedness Kind = "preparedness"
	// KindAdmin is a short alert to notify.admins: an incident opened,
	// changed scope or resolved, or a campaign waits for approval.
	KindAdmin Kind = "admin"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	return k == KindOutage || k == KindResolved || k == KindPreparedness || k == KindAdmin
}

// IncidentState is the lifecycle state of an incident.
type IncidentState string

// Incident states.
const (
	IncidentOpen     IncidentState = "open"
	IncidentResolved IncidentState = "resolved"
)

// Scope says how much of a carrier's network an incident covers.
type Scope string

// Scopes. A regional incident names its areas; a national one covers the
// whole network (and is what every incident was before scopes existed).
const (
	ScopeNational Scope = "national"
	ScopeRegional Scope = "regional"
)

// Valid reports whether s is one of the known scopes.
func (s Scope) Valid() bool { return s == ScopeNational || s == ScopeRegional }

// Incident is one outage of one carrier, from the first signal (or an
// admin's declaration) to its resolution.
type Incident struct {
	ID         int64
	CarrierID  string
	State      IncidentState
	Title      string // the notice that opened it, normalised text
	URL        string // link to the notice, if any
	Note       string // an admin's note for manual incidents
	Manual     bool   // declared by an admin
	OpenedAt   time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time // zero while open
	// Scope is national or regional; never empty once stored.
	Scope Scope
	// Areas are the areas a regional notice names, as it names them
	// (prefectures such as "石川県", 地方 such as "東日本" or "関東", or
	// "一部エリア"); empty for a national incident.
	Areas []string
	// PartlyRecovered is true while the latest notice of the incident's
	// thread says the outage has partly recovered (ほぼ回復, 一部回復, …):
	// a notice page shows ongoing, partly recovered or recovered.
	PartlyRecovered bool
	// StartedAt is when the carrier says the outage began
	// (「7月2日1時35分頃より」, 発生日時); zero when the notice says nothing,
	// and then OpenedAt ("detected at") is the best known start.
	StartedAt time.Time
	// Thread is the key of the notice thread that owns the incident (the
	// notice's link or GUID, else its title without status marks); "" for
	// manual incidents.
	Thread string
	// DataOnly is true while the latest notice of the thread names data
	// service only (no voice, no SMS): SMS codes and voice calls may well
	// still work, so its campaign waits for an admin's approval.
	DataOnly bool
}

// Mail is one rendered message ready for a transport.
type Mail struct {
	// MessageID is the Message-ID header value without angle brackets; it
	// is fixed when the message is planned so a resend keeps it.
	MessageID string
	// To lists the delivery addresses, in the order they are tried.
	To      []string
	Subject string
	Text    string
	HTML    string
	// Lang is the language of the mail ("ja", "en"): Content-Language.
	Lang string
	// ReplyTo is the Reply-To address; "" for none.
	ReplyTo string
	// ReturnPath is the envelope sender (where bounces go); "" uses the
	// From address.
	ReturnPath string
	// Attempt counts the tries to deliver this mail, this one included (1
	// the first time). A transport may act on it: the SMTP transport holds a
	// mail back on its first attempts when one recipient defers it while
	// another accepts.
	Attempt int
	// Headers are the X-Carrierwatch-* headers, already validated.
	Kind       Kind
	Segment    Segment
	IncidentID int64 // 0 for preparedness
	Date       time.Time
}

// Verdict is what the mail system said about one recipient of a mail.
type Verdict string

// Verdicts.
const (
	// Accepted: the mail system took the mail for the recipient.
	Accepted Verdict = "accepted"
	// Deferred: not now, maybe later (an SMTP 4xx, a throttled request).
	Deferred Verdict = "deferred"
	// Refused: not this mail, not later either (an SMTP 5xx, a rejected
	// request).
	Refused Verdict = "refused"
)

// RecipientResult is the verdict on one recipient, with the server's reply
// ("550 5.1.1 <t***@example.net>: no such user"; addresses masked).
type RecipientResult struct {
	Address string
	Verdict Verdict
	Reply   string
}

// Delivery is a transport's report on one mail: a verdict for each
// recipient, in the order of Mail.To.
type Delivery struct {
	Recipients []RecipientResult
	// Whole is true when the verdict was on the message as a whole, not
	// on its recipients (an SMTP reply to MAIL FROM or DATA, a relay's
	// sending quota, a content filter): every recipient then has the same
	// verdict and reply. A refusal of the whole message may hold for
	// every message, so it is retried a few times rather than failed.
	Whole bool
}

// Count returns how many recipients got verdict v.
func (d Delivery) Count(v Verdict) int {
	n := 0
	for _, r := range d.Recipients {
		if r.Verdict == v {
			n++
		}
	}
	return n
}

// Replies joins the distinct replies of the recipients with verdict v.
func (d Delivery) Replies(v Verdict) string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Recipients {
		if r.Verdict == v && r.Reply != "" && !seen[r.Reply] {
			seen[r.Reply] = true
			out = append(out, r.Reply)
		}
	}
	return strings.Join(out, "; ")
}

// Everyone returns a Delivery of the whole message for the addresses: the
// same verdict and reply for each.
func Everyone(to []string, v Verdict, reply string) Delivery {
	d := Delivery{Whole: true, Recipients: make([]RecipientResult, len(to))}
	for i, a := range to {
		d.Recipients[i] = RecipientResult{Address: a, Verdict: v, Reply: reply}
	}
	return d
}

// SendError is a failure to deliver a mail on which the mail system gave
// no verdict per recipient: a connection, TLS or login failure, a timeout,
// or a mail that cannot be built.
type SendError struct {
	// Permanent is true when retrying cannot help (a mail that cannot be
	// built).
	Permanent bool
	// Reply is the server's reply text, if there was one.
	Reply string
	Err   error
}

func (e *SendError) Error() string {
	kind := "temporary send failure"
	if e.Permanent {
		kind = "permanent send failure"
	}
	if e.Reply != "" {
		return fmt.Sprintf("%s, server said %q: %v", kind, e.Reply, e.Err)
	}
	return fmt.Sprintf("%s: %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a delivery failure that must not be
// retried. Errors that are not a *SendError are taken as temporary.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// CampaignState is the state of a campaign.
type CampaignState string

// Campaign states. A campaign awaiting approval holds its messages until an
// admin approves it; a cancelled one sends nothing more.
const (
	CampaignAwaitingApproval CampaignState = "awaiting_approval"
	CampaignActive           CampaignState = "active"
	CampaignCancelled        CampaignState = "cancelled"
)

// Campaign is the set of mails of one kind for one incident (or one
// preparedness round).
type Campaign struct {
	ID          int64
	IncidentID  int64 // 0 for preparedness
	Kind        Kind
	State       CampaignState
	CreatedAt   time.Time
	ApprovedAt  time.Time
	CancelledAt time.Time
	Counts      MessageCounts
}

// MessageState is the state of one outbox message.
type MessageState string

// Message states. A message is recorded pending before it is sent, marked
// sending while on the wire and sent (or failed) after.
const (
	MessagePending   MessageState = "pending"
	MessageSending   MessageState = "sending"
	MessageSent      MessageState = "sent"
	MessageFailed    MessageState = "failed"
	MessageCancelled MessageState = "cancelled"
)

// MessageCounts counts a campaign's messages by state. Waiting counts the
// pending messages that failed at least once and wait for a retry.
type MessageCounts struct {
	Total, Pending, Sending, Sent, Failed, Cancelled, Waiting int
}

// Message is one outbox entry: one mail to one user.
type Message struct {
	ID         int64
	CampaignID int64
	IncidentID int64
	Kind       Kind
	Segment    Segment
	UserID     string
	Lang       string
	To         []string
	MessageID  string
	State      MessageState
	Attempts   int
	// Refusals counts the times the relay refused the message as a whole
	// (Delivery.Whole); kept through other failures and restarts.
	Refusals int
	// Priority is the claim order, lowest first, fixed when planned
	// (store.Priority).
	Priority  int
	NextAt    time.Time // earliest next attempt while pending
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
	// Data is what the templates need about the user, frozen when planned
	// (masked phones, names), as JSON.
	Data []byte
}
