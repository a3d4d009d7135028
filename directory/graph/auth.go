package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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
	auth       []directory.Auth
	problems   []string
	phoneUsers int
}

// syncAuth pages through the userRegistrationDetails report and, as pages
// arrive, fetches the phone methods of every user with a phone in $batch
// requests of 20, BatchConcurrency at a time.
func (c *Client) syncAuth(ctx context.Context, prog *progressReporter) (authResult, error) {
	var (
		mu       sync.Mutex
		res      authResult
		methods  = map[string][]string{}
		phones   = map[string][]carrierwatch.Phone{}
		queued   int
		finished int
	)
	jobs := make(chan []string)
	g, gctx := errgroup.WithContext(ctx)
	workers := c.cfg.BatchConcurrency
	if workers == 0 {
		workers = DefaultBatchConcurrency
	}
	for range workers {
		g.Go(func() error {
			for ids := range jobs {
				got, problems, err := c.fetchPhones(gctx, ids)
				if err != nil {
					return err
				}
				mu.Lock()
				for id, p := range got {
					phones[id] = p
				}
				res.problems = append(res.problems, problems...)
				finished += len(ids)
				done, total := finished, queued
				mu.Unlock()
				prog.report("phones", done, total)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(jobs)
		var pending []string
		send := func(ids []string) error {
			select {
			case jobs <- ids:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
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
				return fmt.Errorf("userRegistrationDetails page %d: %w", page, denied(err, grantMethods))
			}
			var withPhone []string
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
			}
			queued += len(withPhone)
			rows = len(methods)
			mu.Unlock()
			prog.report("methods", rows, 0)
			pending = append(pending, withPhone...)
			for len(pending) >= batchSize {
				if err := send(pending[:batchSize:batchSize]); err != nil {
					return err
				}
				pending = pending[batchSize:]
			}
			next = deref(resp.GetOdataNextLink())
			if next == "" {
				break
			}
		}
		if len(pending) > 0 {
			return send(pending)
		}
		return nil
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
		m, p := methods[id], phones[id]
		if len(m) == 0 && len(p) == 0 {
			continue
		}
		res.auth = append(res.auth, directory.Auth{UserID: id, Methods: m, Phones: p})
		if len(p) > 0 {
			res.phoneUsers++
		}
	}
	sort.Strings(res.problems)
	return res, nil
}

// fetchPhones reads the phone methods of up to 20 users in one $batch and
// retries the items that need it: 429 after the item's own Retry-After (the
// SDK retries only whole requests), 5xx a few times. A 401 or 403 item fails
// the whole fetch (ErrPermission): it means the permission is missing for
// every user, not that one user has no phone. A 404 item (a user deleted
// meanwhile) and other client errors are problems, not failures: the user
// is kept without phones.
func (c *Client) fetchPhones(ctx context.Context, ids []string) (map[string][]carrierwatch.Phone, []string, error) {
	got := make(map[string][]carrierwatch.Phone, len(ids))
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
			ri, err := c.users.ByUserId(id).Authentication().PhoneMethods().ToGetRequestInformation(ctx, nil)
			if err != nil {
				return nil, nil, fmt.Errorf("phoneMethods request for %s: %w", maskID(id), err)
			}
			item, err := batch.AddBatchRequestStep(*ri)
			if err != nil {
				return nil, nil, fmt.Errorf("batch: %w", err)
			}
			userOf[deref(item.GetId())] = id
		}
		resp, err := batch.Send(ctx, c.adapter)
		if err != nil {
			return nil, nil, fmt.Errorf("$batch of %d phoneMethods requests: %w", len(pending), denied(err, grantPhones))
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
				p, bad, err := decodePhones(item.GetBody())
				if err != nil {
					problems = append(problems, fmt.Sprintf("user %s: phoneMethods: %v", maskID(uid), err))
					continue
				}
				for _, b := range bad {
					problems = append(problems, fmt.Sprintf("user %s: phoneMethods: %s", maskID(uid), b))
				}
				got[uid] = p
			case deniedStatus(status):
				// Consent revoked or never granted: every user would come
				// back without phones, and AuthFull would wipe them all.
				return nil, nil, fmt.Errorf("phoneMethods of %s: status %d%s: %w: %s",
					maskID(uid), status, errorCode(item.GetBody()), ErrPermission, grantPhones)
			case status == 429:
				attempts429[uid]++
				if attempts429[uid] >= max429Attempts {
					return nil, nil, fmt.Errorf("phoneMethods of %s: still throttled after %d attempts", maskID(uid), attempts429[uid])
				}
				retry = append(retry, uid)
				wait = max(wait, retryAfter(item.GetHeaders(), defaultItemRetry))
			case status >= 500 || status == 0:
				attempts5xx[uid]++
				if attempts5xx[uid] >= max5xxAttempts {
					return nil, nil, fmt.Errorf("phoneMethods of %s: status %d after %d attempts%s", maskID(uid), status, attempts5xx[uid], errorCode(item.GetBody()))
				}
				retry = append(retry, uid)
				backoff := time.Duration(math.Pow(2, float64(attempts5xx[uid]-1))) * time.Second
				wait = max(wait, retryAfter(item.GetHeaders(), backoff))
			default: // 404 (a user deleted meanwhile) and other client errors
				problems = append(problems, fmt.Sprintf("user %s: phoneMethods: status %d%s", maskID(uid), status, errorCode(item.GetBody())))
			}
		}
		for _, id := range pending {
			if !answered[id] {
				attempts5xx[id]++
				if attempts5xx[id] >= max5xxAttempts {
					return nil, nil, fmt.Errorf("phoneMethods of %s: no answer in $batch after %d attempts", maskID(id), attempts5xx[id])
				}
				retry = append(retry, id)
				wait = max(wait, time.Second)
			}
		}
		if len(retry) > 0 {
			c.logger.Debug("graph batch items retried", "items", len(retry), "wait", wait)
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
// (directory.NormalizePhones, national numbers taken as Japanese). The SDK
// hands the body over as a generic map; we decode it ourselves so that one
// unknown phoneType skips one phone, not the user. problems never hold a
// whole number.
func decodePhones(body core.RequestBody) (phones []carrierwatch.Phone, problems []string, err error) {
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
	phones, bad := directory.NormalizePhones(phones, "JP")
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
