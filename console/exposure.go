package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/carrierwatch/carrierwatch/store"
)

// stackPart is one segment of a carrier's stacked bar.
type stackPart struct {
	Class, Label string
	N            int
	X, W         string // in the chart's coordinates
	LabelX       string
}

type exposureRow struct {
	Name     string
	Affected int
	Parts    []stackPart
	Y        int
}

type linePoint struct{ X, Y float64 }

type prepChart struct {
	Points                 []store.PreparednessPoint
	Mailed, Registered     string // SVG polyline points
	MaxY                   int
	First, Last            time.Time
	LastMailed, LastRegist int
}

type exposureData struct {
	E      *store.ExposureSnapshot // nil before the first measurement
	Rows   []exposureRow
	Width  int
	Height int
	Prep   prepChart
}

// chart geometry of the exposure bars: a label column, then the bar.
const (
	barLeft   = 180
	barWidth  = 560
	rowHeight = 34
)

func (s *Server) exposure(w http.ResponseWriter, r *http.Request) {
	h, err := s.svc.ExposureHistory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := pickLang(r)
	d := exposureData{E: h.Latest, Width: barLeft + barWidth + 80}
	var carriers []store.CarrierExposure
	if h.Latest != nil {
		carriers = h.Latest.Carriers
	}
	maxAffected := 1
	for _, c := range carriers {
		maxAffected = max(maxAffected, c.App+c.OtherPhone+c.PhoneOnly+c.NoAddress)
	}
	for i, c := range carriers {
		row := exposureRow{Name: c.Name, Affected: c.App + c.OtherPhone + c.PhoneOnly + c.NoAddress, Y: 10 + i*rowHeight}
		x := float64(barLeft)
		for _, p := range []struct {
			class string
			n     int
		}{{"app", c.App}, {"other-phone", c.OtherPhone}, {"phone-only", c.PhoneOnly}, {"no-address", c.NoAddress}} {
			wd := float64(p.n) * barWidth / float64(maxAffected)
			row.Parts = append(row.Parts, stackPart{Class: p.class, Label: translate(lang, "seg."+p.class), N: p.n,
				X: ff(x), W: ff(wd), LabelX: ff(x + wd/2)})
			x += wd
		}
		d.Rows = append(d.Rows, row)
	}
	d.Height = 20 + len(carriers)*rowHeight
	d.Prep = preparednessChart(h.Preparedness)
	s.render(w, r, http.StatusOK, "exposure", page{Title: translate(lang, "exposure"), Nav: "exposure", Data: d})
}

// preparedness chart geometry.
const (
	prepLeft, prepTop, prepW, prepH = 50, 10, 640, 180
)

func preparednessChart(pts []store.PreparednessPoint) prepChart {
	c := prepChart{Points: pts}
	if len(pts) == 0 {
		return c
	}
	c.First, c.Last = pts[0].At, pts[len(pts)-1].At
	c.LastMailed, c.LastRegist = pts[len(pts)-1].Mailed, pts[len(pts)-1].Registered
	for _, p := range pts {
		c.MaxY = max(c.MaxY, p.Mailed, p.Registered)
	}
	if c.MaxY == 0 {
		c.MaxY = 1
	}
	span := c.Last.Sub(c.First)
	xy := func(at time.Time, v int) string {
		x := float64(prepLeft)
		if span > 0 {
			x += float64(at.Sub(c.First)) / float64(span) * prepW
		} else {
			x += prepW / 2
		}
		y := float64(prepTop+prepH) - float64(v)*prepH/float64(c.MaxY)
		return ff(x) + "," + ff(y)
	}
	for _, p := range pts {
		c.Mailed += xy(p.At, p.Mailed) + " "
		c.Registered += xy(p.At, p.Registered) + " "
	}
	return c
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
