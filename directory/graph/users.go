package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/carrierwatch/carrierwatch"
)

type (
	absSerFactory   = absser.SerializationWriterFactory
	absParseFactory = absser.ParseNodeFactory
)

// userSelect is the $select of the first delta request; Graph keeps it in
// the nextLink and deltaLink.
var userSelect = []string{"id", "userPrincipalName", "displayName", "mail", "otherMails", "preferredLanguage", "accountEnabled"}

type usersResult struct {
	full      bool
	restarted bool // the cursor was stale: a full round replaced it
	users     []carrierwatch.User
	removed   []string // deleted, soft-deleted or disabled
	deltaLink string
	problems  []string
}

// syncUsers runs one delta round: incremental from cursor, or full when the
// cursor is "", belongs to another endpoint, or is no longer accepted.
func (c *Client) syncUsers(ctx context.Context, cursor string, prog *progressReporter) (usersResult, error) {
	if cursor != "" && !strings.HasPrefix(cursor, c.graphBase+"/") {
		c.logger.Warn("graph delta cursor is for another endpoint; starting a full sync")
		cursor = ""
	}
	res, err := c.deltaRound(ctx, cursor, prog)
	if cursor != "" && errors.Is(err, errStaleDelta) {
		c.logger.Warn("graph delta link no longer valid; starting a full sync", "error", err)
		res, err = c.deltaRound(ctx, "", prog)
		res.restarted = true
	}
	return res, err
}

func (c *Client) deltaRound(ctx context.Context, cursor string, prog *progressReporter) (usersResult, error) {
	res := usersResult{full: cursor == ""}
	type entry struct {
		user    carrierwatch.User
		removed bool
	}
	var order []string
	seen := map[string]*entry{}
	next := cursor
	pages := 0
	for first := true; ; first = false {
		if err := c.waitUnits(ctx, 1); err != nil {
			return res, err
		}
		var page users.DeltaGetResponseable
		var err error
		if first && cursor == "" {
			page, err = c.users.Delta().GetAsDeltaGetResponse(ctx, &users.DeltaRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.DeltaRequestBuilderGetQueryParameters{Select: userSelect},
			})
		} else {
			page, err = users.NewDeltaRequestBuilder(next, c.adapter).GetAsDeltaGetResponse(ctx, nil)
		}
		if err != nil {
			if first && cursor != "" && isStaleDelta(err) {
				return res, fmt.Errorf("%w: %w", errStaleDelta, err)
			}
			return res, fmt.Errorf("users delta page %d: %w", pages+1, denied(err, grantUsers))
		}
		pages++
		for _, u := range page.GetValue() {
			id := deref(u.GetId())
			if id == "" {
				res.problems = append(res.problems, "users delta: an entry without id skipped")
				continue
			}
			e := seen[id]
			if e == nil {
				e = &entry{}
				seen[id] = e
				order = append(order, id)
			}
			if _, ok := u.GetAdditionalData()["@removed"]; ok {
				*e = entry{user: carrierwatch.User{ID: id}, removed: true}
				continue
			}
			if enabled := u.GetAccountEnabled(); enabled != nil && !*enabled {
				*e = entry{user: carrierwatch.User{ID: id}, removed: true}
				continue
			}
			*e = entry{user: toUser(u)}
		}
		prog.report("users", len(order), 0)
		if nl := deref(page.GetOdataNextLink()); nl != "" {
			next = nl
			continue
		}
		res.deltaLink = deref(page.GetOdataDeltaLink())
		if res.deltaLink == "" {
			return res, fmt.Errorf("users delta page %d: neither @odata.nextLink nor @odata.deltaLink", pages)
		}
		break
	}
	for _, id := range order {
		e := seen[id]
		if e.removed {
			res.removed = append(res.removed, id)
		} else {
			res.users = append(res.users, e.user)
		}
	}
	c.logger.Debug("graph users delta done", "full", res.full, "pages", pages, "users", len(res.users), "removed", len(res.removed))
	return res, nil
}

func toUser(u models.Userable) carrierwatch.User {
	mail := deref(u.GetMail())
	var alt []string
	for _, m := range u.GetOtherMails() {
		m = strings.TrimSpace(m)
		if m == "" || strings.EqualFold(m, mail) || containsFold(alt, m) {
			continue
		}
		alt = append(alt, m)
	}
	return carrierwatch.User{
		ID:                deref(u.GetId()),
		UPN:               deref(u.GetUserPrincipalName()),
		DisplayName:       deref(u.GetDisplayName()),
		Mail:              mail,
		AlternateEmails:   alt,
		PreferredLanguage: deref(u.GetPreferredLanguage()),
	}
}

// isStaleDelta reports whether err is Graph refusing a deltaLink: 410 Gone,
// or an error code saying the sync state is gone (400 syncStateNotFound).
func isStaleDelta(err error) bool {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if oe.ResponseStatusCode == 410 {
			return true
		}
		if me := oe.GetErrorEscaped(); me != nil {
			switch deref(me.GetCode()) {
			case "syncStateNotFound", "syncStateInvalid", "resyncRequired", "resyncApplication", "resyncChangesApplyDifferences", "resyncChangesUploadDifferences":
				return true
			}
		}
		return false
	}
	var ae *abs.ApiError
	return errors.As(err, &ae) && ae.ResponseStatusCode == 410
}

func (c *Client) waitUnits(ctx context.Context, n int) error {
	if c.itemLimit == nil {
		return nil
	}
	return c.itemLimit.WaitN(ctx, n)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
