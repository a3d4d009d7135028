package console

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

// retryShown is how many messages of the retry queue a campaign page lists.
const retryShown = 20

// Live reports whether the campaign's progress can still change: it is
// sending, or waiting for someone to approve it.
func (r campaignRow) Live() bool { return liveCampaign(r.C) }

func liveCampaign(c *carrierwatch.Campaign) bool {
	switch c.State {
	case carrierwatch.CampaignAwaitingApproval:
		return true
	case carrierwatch.CampaignActive:
		return c.Counts.Pending+c.Counts.Sending > 0
	}
	return false
}

// incidentOf returns a campaign's incident, nil for preparedness.
func (s *Server) incidentOf(r *http.Request, c *carrierwatch.Campaign) (*carrierwatch.Incident, error) {
	if c.IncidentID == 0 {
		return nil, nil
	}
	// The list, not Incident: that also counts the campaigns' messages
	// and reads the history and audit trail.
	incs, err := s.svc.Incidents(r.Context(), false)
	if err != nil {
		return nil, err
	}
	for _, inc := range incs {
		if inc.ID == c.IncidentID {
			return inc, nil
		}
	}
	return nil, fmt.Errorf("incident %d of campaign %d: %w", c.IncidentID, c.ID, ErrNotFound)
}

// attention is one line of "needs action first".
type attention struct {
	Text, Link string
	Approve    bool // a campaign awaiting approval: offer the button
}

// campaignRow is one campaign in a list.
type campaignRow struct {
	C       *carrierwatch.Campaign
	P       progress
	Left    time.Duration
	Rate    float64 // mails per second now
	Sending bool
	Carrier string
	// State is the campaign's state for people: an active campaign with
	// nothing left to send is "done".
	State    string
	Estimate sendEstimate
}

type incidentRow struct {
	I          *carrierwatch.Incident
	Carrier    string
	LastNotice *service.IncidentEvent
}

type overviewData struct {
	Attention []attention
	Incidents []incidentRow
	Campaigns []campaignRow
	Status    *service.Status
	Carriers  []service.CarrierInfo
}

func carrierName(st *service.Status, id string) string {
	for _, c := range st.Carriers {
		if c.ID == id {
			return c.Name
		}
	}
	return id
}

// recentCampaigns is how many campaigns the overview lists.
const recentCampaigns = 20

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := pickLang(r)
	st, err := s.svc.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	incs, err := s.svc.Incidents(ctx, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	camps, err := s.svc.Campaigns(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := overviewData{Status: st, Carriers: st.Carriers}
	for _, c := range camps {
		if c.State == carrierwatch.CampaignAwaitingApproval {
			d.Attention = append(d.Attention, attention{
				Text: translate(lang, "attn.approval", c.ID, translate(lang, "kind."+string(c.Kind)), fmtNum(c.Counts.Pending)),
				Link: "/campaigns/" + strconv.FormatInt(c.ID, 10), Approve: true,
			})
		}
	}
	for _, src := range st.Sources {
		if src.Failing() {
			d.Attention = append(d.Attention, attention{Text: translate(lang, "attn.source", src.URL, carrierName(st, src.CarrierID), carrierwatch.MaskAddressesIn(src.LastError))})
		}
	}
	switch dir := st.Directory; {
	case dir.LastOK.IsZero():
		d.Attention = append(d.Attention, attention{Text: translate(lang, "attn.never_synced")})
	case dir.Stale:
		d.Attention = append(d.Attention, attention{Text: translate(lang, "attn.stale", fmtTime(lang, dir.LastOK))})
	}
	if st.Directory.LastError != "" {
		d.Attention = append(d.Attention, attention{Text: translate(lang, "attn.sync_failed", carrierwatch.MaskAddressesIn(st.Directory.LastError))})
	}
	if !st.Relay.PausedUntil.IsZero() && st.Relay.PausedUntil.After(st.Now) {
		d.Attention = append(d.Attention, attention{Text: translate(lang, "attn.relay", fmtTime(lang, st.Relay.PausedUntil))})
	}
	for _, inc := range incs {
		row := incidentRow{I: inc, Carrier: carrierName(st, inc.CarrierID)}
		if ev, err := s.svc.IncidentEvents(ctx, inc.ID); err == nil && len(ev) > 0 {
			row.LastNotice = &ev[len(ev)-1]
		}
		d.Incidents = append(d.Incidents, row)
	}
	// The campaigns still sending or held first, then the others; newest
	// first within each.
	slices.SortStableFunc(camps, func(a, b *carrierwatch.Campaign) int {
		if la, lb := liveCampaign(a), liveCampaign(b); la != lb {
			if la {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.ID, a.ID)
	})
	for _, c := range camps {
		if len(d.Campaigns) == recentCampaigns {
			break
		}
		d.Campaigns = append(d.Campaigns, s.campaignRow(st, c, incidentCarrier(incs, c.IncidentID)))
	}
	s.render(w, r, http.StatusOK, "overview", page{Title: translate(lang, "nav.overview"), Nav: "overview", Refresh: true, Data: d})
}

func incidentCarrier(incs []*carrierwatch.Incident, id int64) string {
	for _, i := range incs {
		if i.ID == id {
			return i.CarrierID
		}
	}
	return ""
}

// campaignRow computes a campaign's progress, its current rate and the
// time left at that rate (or at the relay's limit when nothing is being
// sent right now).
func (s *Server) campaignRow(st *service.Status, c *carrierwatch.Campaign, carrier string) campaignRow {
	row := campaignRow{C: c, P: progressOf(c.Counts), Carrier: carrierName(st, carrier)}
	left := c.Counts.Pending + c.Counts.Sending
	row.Sending = c.State == carrierwatch.CampaignActive && left > 0
	row.State = string(c.State)
	if c.State == carrierwatch.CampaignActive && left == 0 {
		row.State = "done"
	}
	if row.Sending {
		row.Rate = st.Relay.CurrentRate
	}
	row.Estimate = estimate(left, st.Relay)
	row.Left = row.Estimate.Duration
	if row.Rate > 0 && row.Rate < row.Estimate.RatePerSecond {
		row.Left = time.Duration(float64(left) / row.Rate * float64(time.Second))
	}
	return row
}

func (s *Server) incidents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.svc.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	incs, err := s.svc.Incidents(ctx, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortStableFunc(incs, func(a, b *carrierwatch.Incident) int { return cmp.Compare(b.ID, a.ID) })
	var rows []incidentRow
	for _, inc := range incs {
		if len(rows) == 200 {
			break
		}
		rows = append(rows, incidentRow{I: inc, Carrier: carrierName(st, inc.CarrierID)})
	}
	s.render(w, r, http.StatusOK, "incidents", page{Title: translate(pickLang(r), "incidents.all"), Nav: "incidents",
		Data: struct {
			Incidents []incidentRow
			Carriers  []service.CarrierInfo
		}{rows, st.Carriers}})
}

type incidentData struct {
	D         *service.IncidentDetail
	Carrier   service.CarrierInfo
	Rows      []campaignRow
	Breakdown []segmentRow
	Carriers  []service.CarrierInfo
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, ErrNotFound)
		return
	}
	ctx := r.Context()
	det, err := s.svc.Incident(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.svc.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := incidentData{D: det, Carriers: st.Carriers,
		Carrier: service.CarrierInfo{ID: det.Incident.CarrierID, Name: carrierName(st, det.Incident.CarrierID)}}
	for _, c := range det.Campaigns {
		d.Rows = append(d.Rows, s.campaignRow(st, c, det.Incident.CarrierID))
	}
	if d.Breakdown, err = s.breakdown(ctx, det.Campaigns...); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incident", page{Title: translate(pickLang(r), "incident", id), Nav: "incidents", Refresh: true, Data: d})
}

func formNote(r *http.Request) string {
	return strings.TrimSpace(cleanNote(r.PostFormValue("note")))
}

// cleanNote keeps a note to 500 runes of text; newlines become spaces.
func cleanNote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 500 {
		s = string(r[:500])
	}
	return s
}

func (s *Server) openIncident(w http.ResponseWriter, r *http.Request) {
	carrier := strings.TrimSpace(r.PostFormValue("carrier"))
	if carrier == "" {
		s.badRequest(w, r, "choose the carrier that is down")
		return
	}
	actor := auditActor(r)
	opened, err := s.svc.OpenIncident(r.Context(), carrier, formNote(r), actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inc := opened.Incident
	s.logger.Info("console: incident opened", "actor", actor, "incident_id", inc.ID, "carrier", carrier)
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(inc.ID, 10)+"?done=opened&id="+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
}

func (s *Server) resolveIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, ErrNotFound)
		return
	}
	actor := auditActor(r)
	if _, err := s.svc.ResolveIncident(r.Context(), id, formNote(r), actor); err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger.Info("console: incident resolved", "actor", actor, "incident_id", id)
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"?done=resolved&id="+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

type campaignData struct {
	D         *service.CampaignDetail
	Incident  *carrierwatch.Incident // nil for preparedness
	Breakdown []segmentRow
	Retrying  []*carrierwatch.Message
	Row       campaignRow
	Messages  []*carrierwatch.Message
	State     string
	Next      int64 // the after= of the next page, 0 when none
	After     int64
}

func (s *Server) campaign(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, ErrNotFound)
		return
	}
	ctx := r.Context()
	det, err := s.svc.Campaign(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.svc.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	state := carrierwatch.MessageState(r.URL.Query().Get("state"))
	switch state {
	case "", carrierwatch.MessagePending, carrierwatch.MessageSending, carrierwatch.MessageSent, carrierwatch.MessageFailed, carrierwatch.MessageCancelled:
	default:
		state = ""
	}
	msgs, err := s.svc.CampaignMessages(ctx, store.MessagePage{CampaignID: id, State: state, AfterID: after, Limit: s.pageSize + 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := campaignData{D: det, State: string(state), After: after}
	if d.Retrying, err = s.svc.CampaignMessages(ctx, store.MessagePage{CampaignID: id, Retrying: true, Limit: retryShown}); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Breakdown, err = s.breakdown(ctx, det.Campaign); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Incident, err = s.incidentOf(r, det.Campaign); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(msgs) > s.pageSize {
		msgs = msgs[:s.pageSize]
		d.Next = msgs[len(msgs)-1].ID
	}
	d.Messages = msgs
	carrier := ""
	if d.Incident != nil {
		carrier = d.Incident.CarrierID
	}
	d.Row = s.campaignRow(st, det.Campaign, carrier)
	s.render(w, r, http.StatusOK, "campaign", page{Title: translate(pickLang(r), "campaign", id), Nav: "campaigns", Refresh: true, Data: d})
}

// progressJSON is what refresh.js reads.
type progressJSON struct {
	Parts    []partJSON `json:"parts"`
	Done     string     `json:"done"`
	Sent     string     `json:"sent"`
	Pending  string     `json:"pending"`
	Retrying string     `json:"retrying"`
	Failed   string     `json:"failed"`
	State    string     `json:"state"`
	Live     bool       `json:"live"` // false: nothing will change, stop polling
	Left     string     `json:"left"`
}

type partJSON struct {
	Class string `json:"class"`
	X     string `json:"x"`
	W     string `json:"w"`
}

func (s *Server) campaignProgress(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	lang := pickLang(r)
	c, err := s.svc.CampaignProgress(ctx, id)
	if err != nil {
		if s.notFound(err) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "500", http.StatusInternalServerError)
		return
	}
	relay, err := s.svc.Relay(ctx)
	if err != nil {
		http.Error(w, "500", http.StatusInternalServerError)
		return
	}
	row := s.campaignRow(&service.Status{Relay: relay}, c, "")
	out := progressJSON{Done: strconv.Itoa(row.P.Done) + " %", Sent: fmtNum(row.P.Sent), Pending: fmtNum(row.P.Pending),
		Retrying: fmtNum(row.P.Retrying), Failed: fmtNum(row.P.Failed), State: translate(lang, "state."+row.State), Live: row.Live()}
	if row.Sending {
		out.Left = fmtDuration(lang, row.Left)
	} else {
		out.Left = "–"
	}
	for _, p := range row.P.Parts {
		out.Parts = append(out.Parts, partJSON(p))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

type confirmData struct {
	D        *service.CampaignDetail
	Incident *carrierwatch.Incident
	Action   string
	Estimate sendEstimate
}

func campaignAction(r *http.Request) (string, bool) {
	a := r.PathValue("action")
	return a, a == "approve" || a == "cancel"
}

// confirmCampaign says what approving or cancelling will do, and asks.
func (s *Server) confirmCampaign(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	action, okA := campaignAction(r)
	if !ok || !okA {
		s.fail(w, r, ErrNotFound)
		return
	}
	det, err := s.svc.Campaign(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.svc.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inc, err := s.incidentOf(r, det.Campaign)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := confirmData{D: det, Incident: inc, Action: action, Estimate: estimate(det.Campaign.Counts.Pending, st.Relay)}
	key := "confirm.approve"
	if action == "cancel" {
		key = "confirm.cancel"
	}
	s.render(w, r, http.StatusOK, "confirm", page{Title: translate(pickLang(r), key, id), Nav: "campaigns", Data: d})
}

func (s *Server) actCampaign(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	action, okA := campaignAction(r)
	if !ok || !okA {
		s.fail(w, r, ErrNotFound)
		return
	}
	ctx := r.Context()
	actor := auditActor(r)
	var c *carrierwatch.Campaign
	var err error
	done := "approved"
	if action == "approve" {
		c, err = s.svc.ApproveCampaign(ctx, id, actor)
	} else {
		c, err = s.svc.CancelCampaign(ctx, id, actor)
		done = "cancelled"
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger.Info("console: campaign "+done, "actor", actor, "campaign_id", id, "pending", c.Counts.Pending)
	http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(id, 10)+"?done="+done+"&id="+strconv.FormatInt(id, 10)+"&n="+strconv.Itoa(c.Counts.Pending), http.StatusSeeOther)
}

// auditActor is the signed-in user as the audit trail records them:
// "console:aoki".
func auditActor(r *http.Request) string { return "console:" + actorOf(r.Context()) }

// segmentRow counts one campaign's messages of one segment and language.
type segmentRow struct {
	Kind    carrierwatch.Kind
	Segment carrierwatch.Segment
	Lang    string
	Counts  carrierwatch.MessageCounts
}

// breakdown counts the campaigns' messages by segment and language.
func (s *Server) breakdown(ctx context.Context, camps ...*carrierwatch.Campaign) ([]segmentRow, error) {
	var out []segmentRow
	for _, c := range camps {
		rows, err := s.svc.CampaignBreakdown(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range rows { // ordered by segment, language, state
			if k := len(out) - 1; k < 0 || out[k].Kind != c.Kind || out[k].Segment != r.Segment || out[k].Lang != r.Lang {
				out = append(out, segmentRow{Kind: c.Kind, Segment: r.Segment, Lang: r.Lang})
			}
			n := &out[len(out)-1].Counts
			n.Total += r.N
			switch r.State {
			case carrierwatch.MessagePending:
				n.Pending += r.N
			case carrierwatch.MessageSending:
				n.Sending += r.N
			case carrierwatch.MessageSent:
				n.Sent += r.N
			case carrierwatch.MessageFailed:
				n.Failed += r.N
			case carrierwatch.MessageCancelled:
				n.Cancelled += r.N
			}
		}
	}
	return out, nil
}

// maxCampaignsListed bounds the campaign list.
const maxCampaignsListed = 200

func (s *Server) campaigns(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.svc.Status(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	camps, err := s.svc.Campaigns(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	incs, err := s.svc.Incidents(ctx, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.SortStableFunc(camps, func(a, b *carrierwatch.Campaign) int { return cmp.Compare(b.ID, a.ID) })
	var rows []campaignRow
	for _, c := range camps[:min(len(camps), maxCampaignsListed)] {
		rows = append(rows, s.campaignRow(st, c, incidentCarrier(incs, c.IncidentID)))
	}
	s.render(w, r, http.StatusOK, "campaigns", page{Title: translate(pickLang(r), "campaigns"), Nav: "campaigns", Refresh: true, Data: rows})
}
