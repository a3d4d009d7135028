// Package carrierwatch holds the domain types shared by every part of the
// daemon: users and their MFA phones and methods, incidents, segments and the
// mails planned for them. It imports nothing of ours and does no I/O; the
// adapters (store, directory providers, email, notifier) speak in these types.
package carrierwatch

import (
	"errors"
	"fmt"
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
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	return k == KindOutage || k == KindResolved || k == KindPreparedness
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
	// HoldForDeferred asks the transport not to send the mail when some
	// recipients accept it and another answers 4xx (deferred), but to
	// fail temporarily so it is tried again for all of them. The
	// dispatcher sets it on the first attempts only: the deferred address
	// may be the only one a locked-out user can read.
	HoldForDeferred bool
	// Headers are the X-Carrierwatch-* headers, already validated.
	Kind       Kind
	Segment    Segment
	IncidentID int64 // 0 for preparedness
	Date       time.Time
}

// SendError is a delivery failure with the server's word on it.
type SendError struct {
	// Permanent is true when retrying cannot help (5xx for every
	// recipient, a message that cannot be built).
	Permanent bool
	// Refused is true when the relay refused the message as a whole: a
	// 5xx reply to MAIL FROM, to DATA or to the end of the content. Such a
	// refusal may hold for every message (a sending quota, a sender the
	// relay does not accept) or for this one only (a content filter), so
	// it is not Permanent: the caller retries it a few times and pauses
	// sending, and gives the message up after repeated refusals.
	Refused bool
	// Reply is the server's reply text, for the outbox record.
	Reply string
	Err   error
}

func (e *SendError) Error() string {
	kind := "temporary send failure"
	switch {
	case e.Permanent:
		kind = "permanent send failure"
	case e.Refused:
		kind = "message refused by the relay"
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
	NextAt     time.Time // earliest next attempt while pending
	LastError  string
	CreatedAt  time.Time
	SentAt     time.Time
	// Data is what the templates need about the user, frozen when planned
	// (masked phones, names), as JSON.
	Data []byte
}
