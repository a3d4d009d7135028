// Package config loads and validates carrierwatch's YAML configuration.
//
// Loading is strict: defaults first, then a decoder that rejects unknown keys
// and duplicate keys, then Validate, which reports every problem at once,
// each naming its YAML path. Secrets are never in the file itself: they come
// from *_file keys or environment variables and are read by Load into fields
// that are never marshalled or logged.
//
// Config is a plain value; the daemon swaps a whole new *Config on reload and
// never mutates one in place.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/phone"
)

// EnvConfig names the environment variable holding the config path.
const EnvConfig = "CARRIERWATCH_CONFIG"

// Environment variables that may carry secrets instead of *_file keys.
const (
	EnvSMTPPassword      = "CARRIERWATCH_SMTP_PASSWORD"
	EnvGraphClientSecret = "CARRIERWATCH_GRAPH_CLIENT_SECRET"
)

// Config is the whole configuration file.
type Config struct {
	StateDir  string    `yaml:"state_dir"`
	HTTP      HTTP      `yaml:"http"`
	Log       Log       `yaml:"log"`
	Schedule  Schedule  `yaml:"schedule"`
	Carriers  []Carrier `yaml:"carriers"`
	Directory Directory `yaml:"directory"`
	Mail      Mail      `yaml:"mail"`
	Notify    Notify    `yaml:"notify"`
	Publish   Publish   `yaml:"publish"`
	Retention Retention `yaml:"retention"`

	// Path is the file the config was loaded from; relative paths inside
	// it are resolved against its folder.
	Path string `yaml:"-"`
}

// HTTP is the listener of the health and metrics endpoints and the web
// console.
type HTTP struct {
	// Listen is host:port; "" disables the listener.
	Listen string `yaml:"listen"`
	// Auth says who may use the web console; see HTTPAuth.
	Auth HTTPAuth `yaml:"auth"`
}

// Log chooses the log format and level.
type Log struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// Schedule holds cron specs (robfig/cron standard syntax or @every).
type Schedule struct {
	Poll          string `yaml:"poll"`
	DirectorySync string `yaml:"directory_sync"`
	// Prune is when the daemon applies retention (default daily at 03:17).
	Prune string `yaml:"prune"`
}

// Carrier is one mobile carrier: how to recognise its users and its notices.
type Carrier struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Match   Match    `yaml:"match"`
	Sources []Source `yaml:"sources"`
	Rules   Rules    `yaml:"rules"`
	// ConfirmPolls is how many consecutive polls must see an outage
	// signal before an incident opens; 0 or 1 opens on the first.
	ConfirmPolls int `yaml:"confirm_polls"`

	matcher *phone.Matcher
	rules   *detector.Rules
}

// Match says which phone numbers a carrier's outage covers. All of it is a
// hint: number portability moves numbers between carriers.
type Match struct {
	Carriers    []string `yaml:"carriers"`
	Prefixes    []string `yaml:"prefixes"`
	PrefixFiles []string `yaml:"prefix_files"`
	AllMobile   string   `yaml:"all_mobile"`
	// AllPhones covers every phone of the tenant, any country and type:
	// for a telephony provider (SMS/voice after 2027-02-01) or the
	// organisation's own PBX. It excludes the other keys.
	AllPhones bool `yaml:"all_phones"`
}

// Source is one place a carrier publishes notices.
type Source struct {
	Type     string `yaml:"type"` // feed | page | statuspage
	URL      string `yaml:"url"`
	Selector string `yaml:"selector"`
	Items    string `yaml:"items"`
	// Components (statuspage) are the page's component names to watch
	// ("SMS", "Voice"); none watches the whole page.
	Components []string `yaml:"components"`
	// MaxAge is how old a listed notice may be and still be acted on;
	// older ones are recorded, never acted on, and a source's first poll
	// acts only on notices within it. 0 means DefaultMaxAge.
	MaxAge Duration `yaml:"max_age"`
}

// DefaultMaxAge is sources[].max_age when unset.
const DefaultMaxAge = 7 * 24 * time.Hour

// Rules are the carrier's notice rules; all empty means detector.DefaultRules.
type Rules struct {
	Outage      []string `yaml:"outage"`
	Resolved    []string `yaml:"resolved"`
	NotResolved []string `yaml:"not_resolved"`
	Ignore      []string `yaml:"ignore"`
	// NotMobile names services that are not mobile phones (固定電話,
	// 光回線, shops, billing, events), judged on a notice's title.
	NotMobile []string `yaml:"not_mobile"`
}

// Directory chooses where users come from.
type Directory struct {
	Provider string `yaml:"provider"` // graph | csv
	Graph    Graph  `yaml:"graph"`
	CSV      CSV    `yaml:"csv"`
	// DefaultRegion is used for numbers written without a country code.
	DefaultRegion string `yaml:"default_region"`
}

// Graph is the Microsoft Graph provider's configuration.
type Graph struct {
	TenantID                      string `yaml:"tenant_id"`
	ClientID                      string `yaml:"client_id"`
	ClientSecretFile              string `yaml:"client_secret_file"`
	ClientCertificateFile         string `yaml:"client_certificate_file"`
	ClientCertificatePasswordFile string `yaml:"client_certificate_password_file"`
	Cloud                         string `yaml:"cloud"` // global | usgov | china
	AuthorityHost                 string `yaml:"authority_host"`
	GraphEndpoint                 string `yaml:"graph_endpoint"`
	BatchConcurrency              int    `yaml:"batch_concurrency"`
	// Methods says how registered methods are read: auto (the
	// userRegistrationDetails report where the tenant has Entra ID P1/P2,
	// else each user's authentication methods), registration_details or
	// authentication_methods.
	Methods string `yaml:"methods"`

	ClientSecret              Secret `yaml:"-"`
	ClientCertificate         []byte `yaml:"-"`
	ClientCertificatePassword Secret `yaml:"-"`
}

// CSV is the CSV provider's configuration.
type CSV struct {
	Path string `yaml:"path"`
}

// Mail is how mails leave.
type Mail struct {
	Transport string `yaml:"transport"` // smtp | graph | file
	From      string `yaml:"from"`
	// ReplyTo, when set, is the Reply-To address: a monitored mailbox that
	// locked-out users' replies reach.
	ReplyTo string `yaml:"reply_to"`
	// ReturnPath, when set, is the envelope sender (SMTP MAIL FROM), where
	// bounces of alternate addresses go; else the From address.
	ReturnPath    string    `yaml:"return_path"`
	SMTP          SMTP      `yaml:"smtp"`
	Graph         MailGraph `yaml:"graph"`
	File          File      `yaml:"file"`
	RatePerSecond float64   `yaml:"rate_per_second"`
	// RatePerMinute is a second limit, for relays that count per minute
	// (Exchange Online: 30); 0 = none.
	RatePerMinute float64 `yaml:"rate_per_minute"`
	// DailyLimit caps the mails of any rolling 24 hours (Exchange Online:
	// 10,000 recipients per mailbox); 0 = none.
	DailyLimit  int `yaml:"daily_limit"`
	Concurrency int `yaml:"concurrency"`
}

// SMTP is the relay.
type SMTP struct {
	Host         string   `yaml:"host"`
	Port         int      `yaml:"port"`
	TLS          string   `yaml:"tls"` // starttls | tls | none
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	Timeout      Duration `yaml:"timeout"`
	// Auth is password (username + password_file), oauth2 (SASL XOAUTH2,
	// Exchange Online) or none; "" is password when a username is set.
	Auth string `yaml:"auth"`
	// OAuth2 is the application for auth: oauth2; empty uses
	// directory.graph's.
	OAuth2 OAuth2 `yaml:"oauth2"`

	Password Secret `yaml:"-"`
}

// MailGraph is the Microsoft Graph sendMail transport.
type MailGraph struct {
	// Sender is the mailbox to send as: a user principal name or id.
	Sender string `yaml:"sender"`
	// GraphEndpoint overrides directory.graph's and the cloud's.
	GraphEndpoint string `yaml:"graph_endpoint"`
	// OAuth2 is the application; empty uses directory.graph's.
	OAuth2 OAuth2 `yaml:"oauth2"`
}

// File is the .eml transport.
type File struct {
	Dir string `yaml:"dir"`
}

// Notify controls campaigns.
type Notify struct {
	RequireApproval      bool     `yaml:"require_approval"`
	SendResolved         bool     `yaml:"send_resolved"`
	DeliverTo            []string `yaml:"deliver_to"` // alternate | primary
	DefaultLanguage      string   `yaml:"default_language"`
	Links                Links    `yaml:"links"`
	PreparednessInterval Duration `yaml:"preparedness_interval"`
	// RenotifyAfter, when set, skips users who were sent an outage mail
	// about the same carrier within it (a new incident soon after the last
	// one). 0 mails them again: a recurrence is news.
	RenotifyAfter Duration `yaml:"renotify_after"`
	TemplatesDir  string   `yaml:"templates_dir"`
	// Regional says what a regional outage does: RegionalApprove (the
	// default) opens the incident, holds its campaign for approval and
	// alerts the admins; RegionalNotify mails like a national one;
	// RegionalIgnore records it and opens nothing.
	Regional string `yaml:"regional"`
	// HomeRegions are the organisation's own areas (東京都, 関東, 東日本): a
	// regional outage overlapping one of them counts as national.
	HomeRegions []string `yaml:"home_regions"`
	// Admins get a short mail when an incident opens, changes scope or
	// resolves, and when a campaign waits for approval.
	Admins []string `yaml:"admins"`
}

// notify.regional values.
const (
	RegionalApprove = "approve"
	RegionalNotify  = "notify"
	RegionalIgnore  = "ignore"
)

// Links are put into mails.
type Links struct {
	SupportForm string `yaml:"support_form"`
	// SupportFormWithoutSignIn says the support form works without
	// signing in; the mails tell phone-only users so.
	SupportFormWithoutSignIn bool   `yaml:"support_form_without_sign_in"`
	MFASetup                 string `yaml:"mfa_setup"`
	Notice                   string `yaml:"notice"`
}

// Secret is a string that never prints.
type Secret string

// String hides the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString hides the secret from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the secret from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Duration is a time.Duration that also accepts a "d" (day) suffix.
type Duration time.Duration

// UnmarshalText parses "90s", "6h", "30d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return fmt.Errorf("invalid duration %q: want e.g. 90s, 6h or 30d", s)
		}
		*d = Duration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want e.g. 90s, 6h or 30d", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Default returns the configuration every file starts from.
func Default() *Config {
	return &Config{
		StateDir: "/var/lib/carrierwatch",
		HTTP:     HTTP{Listen: "127.0.0.1:9464"},
		Log:      Log{Format: "text", Level: "info"},
		Schedule: Schedule{Poll: "@every 1m", DirectorySync: "@every 6h", Prune: "17 3 * * *"},
		Directory: Directory{
			Provider:      "csv",
			Graph:         Graph{Cloud: "global", BatchConcurrency: 4, Methods: "auto"},
			CSV:           CSV{Path: "users.csv"},
			DefaultRegion: "JP",
		},
		Mail: Mail{
			Transport:     "smtp",
			SMTP:          SMTP{Host: "localhost", Port: 587, TLS: "starttls", Timeout: Duration(30 * time.Second)},
			File:          File{Dir: "./outbox"},
			RatePerSecond: 20,
			Concurrency:   2,
		},
		Notify: Notify{
			SendResolved:         true,
			DeliverTo:            []string{"alternate", "primary"},
			DefaultLanguage:      "ja",
			PreparednessInterval: Duration(90 * 24 * time.Hour),
			Regional:             RegionalApprove,
		},
		Retention: DefaultRetention(),
	}
}

// Load reads, decodes, validates and resolves the file at path: relative
// paths are made absolute against the file's folder, secrets are read.
// The error lists every problem found.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = abs
	if err := c.resolve(filepath.Dir(abs)); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes data over Default and validates it. Files named in the
// config are not read; Load does that.
func Parse(data []byte) (*Config, error) {
	c := Default()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict())
	if err := dec.Decode(c); err != nil {
		strictErr := errors.New(yaml.FormatError(err, false, false))
		// Report the rest too: decode again without the unknown-key check
		// and validate what that gives, so an admin sees every problem at
		// once. A file that is not YAML at all stops here.
		lenient := Default()
		if yaml.NewDecoder(bytes.NewReader(data)).Decode(lenient) != nil {
			return nil, strictErr
		}
		return nil, errors.Join(strictErr, lenient.Validate())
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
