package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/robfig/cron/v3"

	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/phone"
)

var carrierID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks everything that can be checked without reading other
// files and returns every problem at once, each prefixed with its YAML path.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.StateDir == "" {
		add("state_dir", "must be set (the folder that holds carrierwatch.db)")
	}
	c.HTTP.validate(add)
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q: want text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	for path, spec := range map[string]string{"schedule.poll": c.Schedule.Poll, "schedule.directory_sync": c.Schedule.DirectorySync, "schedule.prune": c.Schedule.Prune} {
		if _, err := cron.ParseStandard(spec); err != nil {
			add(path, "invalid schedule %q: %v (examples: \"@every 1m\", \"*/5 * * * *\")", spec, err)
		}
	}

	if len(c.Carriers) == 0 {
		add("carriers", "at least one carrier is needed")
	}
	errs = append(errs, c.Notify.validateScope()...)
	seen := map[string]bool{}
	for i := range c.Carriers {
		errs = append(errs, c.Carriers[i].validate(fmt.Sprintf("carriers[%d]", i), seen, nil, c.Directory.DefaultRegion)...)
	}

	switch c.Directory.Provider {
	case "csv":
		if c.Directory.CSV.Path == "" {
			add("directory.csv.path", "must be set when directory.provider is csv")
		}
	case "graph":
		g := c.Directory.Graph
		if g.TenantID == "" {
			add("directory.graph.tenant_id", "must be set when directory.provider is graph")
		}
		if g.ClientID == "" {
			add("directory.graph.client_id", "must be set when directory.provider is graph")
		}
		if g.ClientSecretFile != "" && g.ClientCertificateFile != "" {
			add("directory.graph", "at most one of client_secret_file & client_certificate_file")
		}
		if g.ClientSecretFile == "" && g.ClientCertificateFile == "" && os.Getenv(EnvGraphClientSecret) == "" {
			add("directory.graph", "one of client_secret_file, client_certificate_file or $%s is needed", EnvGraphClientSecret)
		}
		switch g.Cloud {
		case "global", "usgov", "china":
		default:
			add("directory.graph.cloud", "%q: want global, usgov or china", g.Cloud)
		}
		for path, v := range map[string]string{"directory.graph.authority_host": g.AuthorityHost, "directory.graph.graph_endpoint": g.GraphEndpoint} {
			if v == "" {
				continue
			}
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
				add(path, "%q must be an https:// URL", v)
			}
		}
		switch g.Methods {
		case "auto", "registration_details", "authentication_methods":
		default:
			add("directory.graph.methods", "%q: want auto, registration_details or authentication_methods", g.Methods)
		}
		if g.BatchConcurrency < 1 || g.BatchConcurrency > 16 {
			add("directory.graph.batch_concurrency", "%d: want 1 to 16", g.BatchConcurrency)
		}
	default:
		add("directory.provider", "%q: want graph or csv", c.Directory.Provider)
	}
	if r := c.Directory.DefaultRegion; r == "" {
		add("directory.default_region", "must be set, e.g. JP")
	} else if !phonenumbers.GetSupportedRegions()[r] {
		add("directory.default_region", "%q is not a region code (two capital letters, e.g. JP)", r)
	}

	m := c.Mail
	if m.From == "" {
		add("mail.from", "must be set, e.g. \"IT Help <mfa-noreply@example.ac.jp>\"")
	} else if _, err := mail.ParseAddress(m.From); err != nil {
		add("mail.from", "%q is not an address: %v", m.From, err)
	}
	if m.ReplyTo != "" {
		if _, err := mail.ParseAddress(m.ReplyTo); err != nil {
			add("mail.reply_to", "%q is not an address: %v", m.ReplyTo, err)
		}
	}
	if m.ReturnPath != "" {
		if a, err := mail.ParseAddress(m.ReturnPath); err != nil || a.Name != "" {
			add("mail.return_path", "%q is not a bare address (e.g. bounces@example.ac.jp)", m.ReturnPath)
		}
	}
	switch m.Transport {
	case "smtp":
		if m.SMTP.Host == "" {
			add("mail.smtp.host", "must be set when mail.transport is smtp")
		}
		if m.SMTP.Port < 1 || m.SMTP.Port > 65535 {
			add("mail.smtp.port", "%d is not a port", m.SMTP.Port)
		}
		switch m.SMTP.TLS {
		case "starttls", "tls", "none":
		default:
			add("mail.smtp.tls", "%q: want starttls, tls or none", m.SMTP.TLS)
		}
		if m.SMTP.PasswordFile != "" && m.SMTP.Username == "" {
			add("mail.smtp.username", "must be set when mail.smtp.password_file is")
		}
		errs = append(errs, c.validateSMTPAuth()...)
		if m.SMTP.Timeout <= 0 {
			add("mail.smtp.timeout", "must be positive")
		}
	case "graph":
		errs = append(errs, c.validateMailGraph()...)
	case "file":
		if m.File.Dir == "" {
			add("mail.file.dir", "must be set when mail.transport is file")
		}
	default:
		add("mail.transport", "%q: want smtp, graph or file", m.Transport)
	}
	if m.RatePerSecond < 0 {
		add("mail.rate_per_second", "must not be negative (0 means no limit)")
	}
	if m.RatePerMinute < 0 {
		add("mail.rate_per_minute", "must not be negative (0 means no limit)")
	}
	if m.DailyLimit < 0 {
		add("mail.daily_limit", "must not be negative (0 means no limit)")
	}
	if m.Concurrency < 1 || m.Concurrency > 64 {
		add("mail.concurrency", "%d: want 1 to 64", m.Concurrency)
	}

	n := c.Notify
	if len(n.DeliverTo) == 0 {
		add("notify.deliver_to", "must name at least one of alternate, primary")
	}
	for i, d := range n.DeliverTo {
		if d != "alternate" && d != "primary" {
			add(fmt.Sprintf("notify.deliver_to[%d]", i), "%q: want alternate or primary", d)
		}
	}
	switch n.DefaultLanguage {
	case "ja", "en":
	default:
		add("notify.default_language", "%q: want ja or en", n.DefaultLanguage)
	}
	for path, v := range map[string]string{"notify.links.support_form": n.Links.SupportForm, "notify.links.mfa_setup": n.Links.MFASetup, "notify.links.notice": n.Links.Notice} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "mailto") {
			add(path, "%q must be an http(s):// or mailto: URL", v)
		}
	}
	if n.PreparednessInterval < 0 {
		add("notify.preparedness_interval", "must not be negative")
	}
	if n.RenotifyAfter < 0 {
		add("notify.renotify_after", "must not be negative (0 mails users again for every new incident)")
	}
	errs = append(errs, c.Publish.validate()...)
	errs = append(errs, c.Retention.validate()...)
	return errors.Join(sortErrs(errs)...)
}

// sortErrs keeps errors in a stable order (maps above iterate randomly).
func sortErrs(errs []error) []error {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Error() < errs[j-1].Error(); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errs
}

// validate checks one carrier and compiles its rules and matcher.
// prefixLines are the contents of its prefix files (nil before resolve).
func (c *Carrier) validate(path string, seen map[string]bool, prefixLines []string, region string) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", path, p, fmt.Sprintf(format, args...)))
	}
	switch {
	case !carrierID.MatchString(c.ID):
		add(".id", "%q: want 1-32 lowercase letters, digits, - or _", c.ID)
	case seen != nil && seen[c.ID]:
		add(".id", "%q is used by another carrier", c.ID)
	}
	if seen != nil {
		seen[c.ID] = true
	}
	if c.Name == "" {
		// Mails say "if your phone is on <name>": the id is a poor but
		// honest stand-in.
		c.Name = c.ID
	}
	if c.ConfirmPolls < 0 || c.ConfirmPolls > 100 {
		add(".confirm_polls", "%d: want 0 to 100", c.ConfirmPolls)
	}
	m := c.Match
	switch {
	case len(m.Carriers) == 0 && len(m.Prefixes) == 0 && len(m.PrefixFiles) == 0 && m.AllMobile == "" && !m.AllPhones:
		add(".match", "names no numbers: set carriers, prefixes, prefix_files, all_mobile or all_phones")
	case m.AllPhones && len(m.PrefixFiles) > 0 && prefixLines == nil:
		// Before resolve the files are unread; the matcher cannot see them.
		add(".match", "all_phones: covers every phone already; remove carriers, prefixes, prefix_files and all_mobile")
	}
	matcher, err := phone.NewMatcher(phone.MatchSpec{Carriers: m.Carriers, Prefixes: m.Prefixes, PrefixLines: prefixLines, AllMobile: m.AllMobile, AllPhones: m.AllPhones, DefaultRegion: region})
	if err != nil {
		for _, e := range unjoin(err) {
			add(".match", "%v", e)
		}
	}
	c.matcher = matcher
	for i, s := range c.Sources {
		sp := fmt.Sprintf(".sources[%d]", i)
		switch s.Type {
		case "feed":
			if s.Selector != "" || s.Items != "" {
				add(sp, "selector and items are for type: page only")
			}
		case "page":
		case detector.TypeStatuspage:
			// The detector's checks, except the URL's form, checked below.
			err := detector.Source{ID: "-", Type: s.Type, URL: s.URL, Selector: s.Selector, Items: s.Items, Components: s.Components}.Validate()
			for _, e := range unjoin(err) {
				if e != nil && (!strings.HasPrefix(e.Error(), "url: ") || strings.Contains(e.Error(), "base URL")) {
					add(sp, "%v", e)
				}
			}
		default:
			add(sp+".type", "%q: want feed, page or statuspage", s.Type)
		}
		if len(s.Components) > 0 && s.Type != detector.TypeStatuspage {
			add(sp+".components", "only for type: statuspage")
		}
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add(sp+".url", "%q must be an http(s):// URL", s.URL)
		}
		if s.MaxAge < 0 {
			add(sp+".max_age", "%s: want a positive duration such as 7d (0: the default, 7d)", time.Duration(s.MaxAge))
		}
	}
	rules, err := detector.CompileRules(c.RuleSpec())
	if err != nil {
		for _, e := range unjoin(err) {
			add(".rules", "%v", e)
		}
	}
	c.rules = rules
	return errs
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// RuleSpec returns the carrier's rules, or detector.DefaultRules when the
// config gives none.
func (c *Carrier) RuleSpec() detector.RuleSpec {
	r := c.Rules
	if len(r.Outage)+len(r.Resolved)+len(r.NotResolved)+len(r.Ignore)+len(r.NotMobile) == 0 {
		return detector.DefaultRules()
	}
	return detector.RuleSpec{Outage: r.Outage, Resolved: r.Resolved, NotResolved: r.NotResolved, Ignore: r.Ignore, NotMobile: r.NotMobile}
}

// CompiledRules returns the rules compiled by Validate.
func (c *Carrier) CompiledRules() *detector.Rules { return c.rules }

// Matcher returns the number matcher built by Validate (and, with prefix
// files, by Load).
func (c *Carrier) Matcher() *phone.Matcher { return c.matcher }

// DetectorSources returns the carrier's sources with ids derived from
// their addresses ("kddi/www.au.com/information/notice_mobile"), so that
// reordering or inserting sources in the config does not make a source's
// seen notices look new. Two sources on one address get "#2", "#3", ….
func (c *Carrier) DetectorSources() []detector.Source {
	out := make([]detector.Source, len(c.Sources))
	seen := map[string]int{}
	for i, s := range c.Sources {
		id := c.ID + "/" + s.URL
		if u, err := url.Parse(s.URL); err == nil && u.Host != "" {
			id = c.ID + "/" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
		}
		seen[id]++
		if n := seen[id]; n > 1 {
			id = fmt.Sprintf("%s#%d", id, n)
		}
		maxAge := time.Duration(s.MaxAge)
		if maxAge <= 0 {
			maxAge = DefaultMaxAge
		}
		out[i] = detector.Source{ID: id, Type: s.Type, URL: s.URL, Selector: s.Selector, Items: s.Items, Components: s.Components, MaxAge: maxAge}
	}
	return out
}

// Carrier returns the carrier with id, or nil.
func (c *Config) Carrier(id string) *Carrier {
	for i := range c.Carriers {
		if c.Carriers[i].ID == id {
			return &c.Carriers[i]
		}
	}
	return nil
}

// resolve makes paths absolute against dir, reads prefix files and secrets.
func (c *Config) resolve(dir string) error {
	var errs []error
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.StateDir)
	abs(&c.Directory.CSV.Path)
	abs(&c.Mail.File.Dir)
	abs(&c.Notify.TemplatesDir)
	c.Publish.resolve(dir)
	if c.HTTP.Auth.UsersFile != "" {
		c.HTTP.Auth.UsersFile = expandCredPath(c.HTTP.Auth.UsersFile, dir)
		if _, err := os.Stat(c.HTTP.Auth.UsersFile); err != nil {
			errs = append(errs, fmt.Errorf("http.auth.users_file: %w", err))
		}
	}
	for i := range c.Carriers {
		cr := &c.Carriers[i]
		var lines []string
		for j := range cr.Match.PrefixFiles {
			abs(&cr.Match.PrefixFiles[j])
			b, err := os.ReadFile(cr.Match.PrefixFiles[j])
			if err != nil {
				errs = append(errs, fmt.Errorf("carriers[%d].match.prefix_files[%d]: %w", i, j, err))
				continue
			}
			lines = append(lines, strings.Split(string(b), "\n")...)
		}
		if len(cr.Match.PrefixFiles) > 0 {
			errs = append(errs, cr.validate(fmt.Sprintf("carriers[%d]", i), nil, lines, c.Directory.DefaultRegion)...)
		}
	}
	if c.Directory.Provider == "csv" {
		if _, err := os.Stat(c.Directory.CSV.Path); err != nil {
			errs = append(errs, fmt.Errorf("directory.csv.path: %w", err))
		}
	}
	if c.Notify.TemplatesDir != "" {
		if st, err := os.Stat(c.Notify.TemplatesDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("notify.templates_dir: %q is not a folder", c.Notify.TemplatesDir))
		}
	}
	g := &c.Directory.Graph
	if c.Directory.Provider == "graph" {
		secret, err := readSecret("directory.graph.client_secret_file", g.ClientSecretFile, EnvGraphClientSecret, dir)
		errs = append(errs, err)
		g.ClientSecret = secret
		if g.ClientCertificateFile != "" {
			p := expandCredPath(g.ClientCertificateFile, dir)
			b, err := os.ReadFile(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("directory.graph.client_certificate_file: %w", err))
			}
			g.ClientCertificate = b
			pw, err := readSecret("directory.graph.client_certificate_password_file", g.ClientCertificatePasswordFile, "", dir)
			errs = append(errs, err)
			g.ClientCertificatePassword = pw
		}
	}
	if c.Mail.Transport == "graph" || (c.Mail.Transport == "smtp" && c.SMTPAuth() == SMTPAuthOAuth2) {
		errs = append(errs, c.resolveSMTPAuth(dir))
	} else if c.Mail.Transport == "smtp" {
		pw, err := readSecret("mail.smtp.password_file", c.Mail.SMTP.PasswordFile, EnvSMTPPassword, dir)
		errs = append(errs, err)
		c.Mail.SMTP.Password = pw
		if pw != "" && c.Mail.SMTP.Username == "" {
			errs = append(errs, fmt.Errorf("mail.smtp.username: must be set when a password is given"))
		}
	}
	return errors.Join(errs...)
}

// expandCredPath expands $CREDENTIALS_DIRECTORY (systemd LoadCredential=)
// and other environment variables in a *_file path, then makes it absolute.
func expandCredPath(p, dir string) string {
	p = os.ExpandEnv(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return p
}

// readSecret reads a *_file key, else the environment variable env. The
// error names the key, never the secret.
func readSecret(key, file, env, dir string) (Secret, error) {
	if file != "" {
		p := expandCredPath(file, dir)
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s: %s is empty", key, p)
		}
		return Secret(s), nil
	}
	if env != "" {
		return Secret(os.Getenv(env)), nil
	}
	return "", nil
}
