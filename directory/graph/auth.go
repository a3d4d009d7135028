package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"golang.org/x/sync/errgroup"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

const (
	batchSize = 20 // Graph's limit of requests in one $batch
	// Attempts of one batch item: throttled items (429) follow the item's
	// Retry-After; server errors (5xx) back off.
	max429Attempts = 8
	max5xxAttempts = 3
	// defaultItemRetry is the wait when a throttled item has no Retry-After.
	defaultItemRetry = 2 * time.Second
	maxItemRetry     = time.Minute
)

type authResult struct {
	auth        []directory.Auth
	problems    []string
	phoneUsers  int
	resetEmails int
	// mode and reason say how the methods were read and why.
	mode, reason string
}

// add appends a (kept in id order by the callers) and counts it.
func (r *authResult) add(a directory.Auth) {
	r.auth = append(r.auth, a)
	if len(a.Phones) > 0 {
		r.phoneUsers++
	}
	if a.ResetEmail != "" {
		r.resetEmails++
	}
}

func (c *Client) workers() int {
	if c.cfg.BatchConcurrency == 0 {
		return DefaultBatchConcurrency
	}
	return c.cfg.BatchConcurrency
}

// syncAuth reads every user's methods, phones and reset e-mail the way
// Config.Methods says. In auto mode the report is tried first; when Graph
// refuses it for want of an Entra ID P1/P2 licence (403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant, on any page) the
// whole read starts again per user, and the result records why.
func (c *Client) syncAuth(ctx context.Context, prog *progressReporter) (authResult, error) {
	mode := c.cfg.methods()
	if mode == MethodsAuthenticationMethods {
		res, err := c.syncAuthMethods(ctx, prog)
		res.mode, res.reason = MethodsAuthenticationMethods, "configured (directory.graph.methods: authentication_methods)"
		return res, err
	}
	res, err := c.syncReport(ctx, prog)
	var ue *unlicensedError
	switch {
	case err == nil:
		res.mode = MethodsRegistrationDetails
		res.reason = "configured (directory.graph.methods: registration_details)"
		if mode == MethodsAuto {
			res.reason = "auto: licensed, the userRegistrationDetails report answered"
		}
		return res, nil
	case !errors.As(err, &ue):
		return res, err
	case mode == MethodsRegistrationDetails:
		return res, fmt.Errorf("%w: %w; set directory.graph.methods to auto or authentication_methods and %s", ErrUnlicensed, ue, grantMethodsAPI)
	}
	c.logger.Warn("graph: the userRegistrationDetails report needs Entra ID P1 or P2, which the tenant lacks; reading each user's authentication methods instead",
		"status", 403, "code", unlicensedCode, "page", ue.page)
	res, err = c.syncAuthMethods(ctx, prog)
	res.mode = MethodsAuthenticationMethods
	res.reason = "auto: the userRegistrationDetails report answered 403 " + unlicensedCode + " (no Entra ID P1/P2 licence)"
	return res, err
}

// syncReport pages through the userRegistrationDetails report and, as
// pages arrive, fetches the phone methods of every user with a phone and
// the e-mail method of every user with "email" registered, in $batch
// requests of 20, BatchConcurrency at a time.
func (c *Client) syncReport(ctx context.Context, prog *progressReporter) (authResult, error) {
	var (
		mu       sync.Mutex
		res      authResult
		methods  = map[string][]string{}
		phones   = map[string][]carrierwatch.Phone{}
		emails   = map[string]string{}
		queued   int
		finished int
	)
	type job struct {
		read userRead
		ids  []string
	}
	jobs := make(chan job)
	g, gctx := errgroup.WithContext(ctx)
	for range c.workers() {
		g.Go(func() error {
			for j := range jobs {
				bodies, problems, err := c.batchRead(gctx, j.ids, j.read)
				if err != nil {
					return err
				}
				gotPhones := map[string][]carrierwatch.Phone{}
				gotEmails := map[string]string{}
				for uid, body := range bodies {
					if j.read.name == readEmails.name {
						e, err := decodeEmail(body)
						if err != nil {
							problems = append(problems, fmt.Sprintf("user %s: emailMethods: %v", maskID(uid), err))
							continue
						}
						gotEmails[uid] = e
						continue
					}
					p, bad, err := decodePhones(body, c.cfg.region())
					if err != nil {
						problems = append(problems, fmt.Sprintf("user %s: phoneMethods: %v", maskID(uid), err))
						continue
					}
					for _, b := range bad {
						problems = append(problems, fmt.Sprintf("user %s: phoneMethods: %s", maskID(uid), b))
					}
					gotPhones[uid] = p
				}
				mu.Lock()
				for id, p := range gotPhones {
					phones[id] = p
				}
				for id, e := range gotEmails {
					emails[id] = e
				}
				res.problems = append(res.problems, problems...)
				done, total := 0, 0
				if j.read.name == readPhones.name {
					finished += len(j.ids)
					done, total = finished, queued
				}
				mu.Unlock()
				if total > 0 {
					prog.report("phones", done, total)
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(jobs)
		var pendingPhones, pendingEmails []string
		send := func(j job) error {
			select {
			case jobs <- j:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		flush := func(pending *[]string, read userRead, all bool) error {
			for len(*pending) >= batchSize || all && len(*pending) > 0 {
				n := min(batchSize, len(*pending))
				if err := send(job{read: read, ids: (*pending)[:n:n]}); err != nil {
					return err
				}
				*pending = (*pending)[n:]
			}
			return nil
		}
		builder := reports.NewAuthenticationMethodsUserRegistrationDetailsRequestBuilder(
			c.graphBase+"/reports/authenticationMethods/userRegistrationDetails", c.adapter)
		next := ""
		rows := 0
		for page := 1; ; page++ {
			if err := c.reportLimit.Wait(gctx); err != nil {
				return err
			}
			b := builder
			if next != "" {
				b = builder.WithUrl(next)
			}
			resp, err := b.Get(gctx, nil)
			if err != nil {
				if ue, ok := asUnlicensed(err, page); ok {
					return ue
				}
				return fmt.Errorf("userRegistrationDetails page %d: %w", page, denied(err, grantMethods))
			}
			var withPhone, withEmail []string
			mu.Lock()
			for _, d := range resp.GetValue() {
				id := deref(d.GetId())
				if id == "" {
					res.problems = append(res.problems, "userRegistrationDetails: an entry without id skipped")
					continue
				}
				m := d.GetMethodsRegistered()
				if _, dup := methods[id]; dup {
					continue
				}
				methods[id] = m
				if hasPhoneMethod(m) {
					withPhone = append(withPhone, id)
				}
				if slices.Contains(m, "email") {
					withEmail = append(withEmail, id)
				}
			}
			queued += len(withPhone)
			rows = len(methods)
			mu.Unlock()
			prog.report("methods", rows, 0)
			pendingPhones = append(pendingPhones, withPhone...)
			pendingEmails = append(pendingEmails, withEmail...)
			if err := flush(&pendingPhones, readPhones, false); err != nil {
				return err
			}
			if err := flush(&pendingEmails, readEmails, false); err != nil {
				return err
			}
			next = deref(resp.GetOdataNextLink())
			if next == "" {
				break
			}
		}
		if err := flush(&pendingPhones, readPhones, true); err != nil {
			return err
		}
		return flush(&pendingEmails, readEmails, true)
	})
	if err := g.Wait(); err != nil {
		return authResult{}, err
	}

	ids := make([]string, 0, len(methods))
	for id := range methods {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m, p, e := methods[id], phones[id], emails[id]
		if len(m) == 0 && len(p) == 0 && e == "" {
			continue
		}
		res.add(directory.Auth{UserID: id, Methods: m, Phones: p, ResetEmail: e})
	}
	sort.Strings(res.problems)
	return res, nil
}

// batchRead reads one per-user resource (r) of up to 20 users in one
// $batch and retries the items that need it: 429 after the item's own
// Retry-After (the SDK retries only whole requests), 5xx a few times. A
// 401 or 403 item fails the whole read (ErrPermission): it means the
// permission is missing for every user, not that one user has nothing
// registered. A 404 item (a user deleted meanwhile) and other client
// errors are problems, not failures: the user is kept without the data.
// It returns the 2xx bodies by user id.
func (c *Client) batchRead(ctx context.Context, ids []string, r userRead) (map[string]core.RequestBody, []string, error) {
	got := make(map[string]core.RequestBody, len(ids))
	var problems []string
	attempts429 := map[string]int{}
	attempts5xx := map[string]int{}
	pending := ids
	for len(pending) > 0 {
		if err := c.waitUnits(ctx, len(pending)); err != nil {
			return nil, nil, err
		}
		batch := core.NewBatchRequest(c.adapter)
		userOf := make(map[string]string, len(pending))
		for _, id := range pending {
			ri, err := r.info(ctx, c, id)
			if err != nil {
				return nil, nil, fmt.Errorf("%s request for %s: %w", r.name, maskID(id), err)
			}
			item, err := batch.AddBatchRequestStep(*ri)
			if err != nil {
				return nil, nil, fmt.Errorf("batch: %w", err)
			}
			userOf[deref(item.GetId())] = id
		}
		resp, err := batch.Send(ctx, c.adapter)
		if err != nil {
			return nil, nil, fmt.Errorf("$batch of %d %s requests: %w", len(pending), r.name, denied(err, r.grant))
		}
		var retry []string
		var wait time.Duration
		answered := map[string]bool{}
		for _, item := range resp.GetResponses() {
			uid, ok := userOf[deref(item.GetId())]
			if !ok || answered[uid] {
				continue // not ours, or a duplicate answer
			}
			answered[uid] = true
			status := 0
			if s := item.GetStatus(); s != nil {
				status = int(*s)
			}
			switch {
			case status >= 200 && status < 300:
				got[uid] = item.GetBody()
			case deniedStatus(status):
				// Consent revoked or never granted: every user would come
				// back without phones, and AuthFull would wipe them all.
				return nil, nil, fmt.Errorf("%s of %s: status %d%s: %w: %s",
					r.name, maskID(uid), status, errorCode(item.GetBody()), ErrPermission, r.grant)
			case status == 429:
				attempts429[uid]++
				if attempts429[uid] >= max429Attempts {
					return nil, nil, fmt.Errorf("%s of %s: still throttled after %d attempts", r.name, maskID(uid), attempts429[uid])
				}
				retry = append(retry, uid)
				wait = max(wait, retryAfter(item.GetHeaders(), defaultItemRetry))
			case status >= 500 || status == 0:
				attempts5xx[uid]++
				if attempts5xx[uid] >= max5xxAttempts {
					return nil, nil, fmt.Errorf("%s of %s: status %d after %d attempts%s", r.name, maskID(uid), status, attempts5xx[uid], errorCode(item.GetBody()))
				}
				retry = append(retry, uid)
				backoff := time.Duration(math.Pow(2, float64(attempts5xx[uid]-1))) * time.Second
				wait = max(wait, retryAfter(item.GetHeaders(), backoff))
			default: // 404 (a user deleted meanwhile) and other client errors
				problems = append(problems, fmt.Sprintf("user %s: %s: status %d%s", maskID(uid), r.name, status, errorCode(item.GetBody())))
			}
		}
		for _, id := range pending {
			if !answered[id] {
				attempts5xx[id]++
				if attempts5xx[id] >= max5xxAttempts {
					return nil, nil, fmt.Errorf("%s of %s: no answer in $batch after %d attempts", r.name, maskID(id), attempts5xx[id])
				}
				retry = append(retry, id)
				wait = max(wait, time.Second)
			}
		}
		if len(retry) > 0 {
			c.logger.Debug("graph batch items retried", "read", r.name, "items", len(retry), "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, nil, err
			}
		}
		pending = retry
	}
	return got, problems, nil
}

// retryAfter reads a batch item's Retry-After (seconds), falling back to def.
func retryAfter(h core.RequestHeader, def time.Duration) time.Duration {
	for k, v := range h {
		if strings.EqualFold(k, "Retry-After") {
			if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 {
				return min(time.Duration(s*float64(time.Second)), maxItemRetry)
			}
		}
	}
	return def
}

// phoneMethodsBody is the body of GET /users/{id}/authentication/phoneMethods.
type phoneMethodsBody struct {
	Value []struct {
		ID          string `json:"id"`
		PhoneNumber string `json:"phoneNumber"`
		PhoneType   string `json:"phoneType"`
	} `json:"value"`
}

// decodePhones decodes a batch item's body and normalises the numbers
// (directory.NormalizePhones, national numbers read in region). The SDK
// hands the body over as a generic map; we decode it ourselves so that one
// unknown phoneType skips one phone, not the user. problems never hold a
// whole number.
func decodePhones(body core.RequestBody, region string) (phones []carrierwatch.Phone, problems []string, err error) {
	raw, err := json.Marshal(map[string]any(body))
	if err != nil {
		return nil, nil, fmt.Errorf("re-encode body: %w", err)
	}
	var b phoneMethodsBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, nil, fmt.Errorf("decode body: %w", err)
	}
	for _, v := range b.Value {
		t, ok := phoneType(v.PhoneType)
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown phoneType %q skipped", v.PhoneType))
			continue
		}
		if strings.TrimSpace(v.PhoneNumber) == "" {
			continue
		}
		phones = append(phones, carrierwatch.Phone{Type: t, Raw: v.PhoneNumber})
	}
	phones, bad := directory.NormalizePhones(phones, region)
	return phones, append(problems, bad...), nil
}

// errorCode returns ": code" from a Graph error body, or "".
func errorCode(body core.RequestBody) string {
	raw, err := json.Marshal(map[string]any(body))
	if err != nil {
		return ""
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
		return ""
	}
	return " (" + e.Error.Code + ")"
}
