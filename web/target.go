package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// maxDiagrams is the number of changes drawn inline on a target page;
// older ones show their diff table and link to their diagram, which
// keeps the page small however long the paths.
const maxDiagrams = 10

// targetData is what target.html gets.
type targetData struct {
	api.Target
	Status          badge
	PathSinceText   string
	RTT, Loss       string
	LastChangeText  string
	Diagram         template.HTML
	SVGPath, SVGURL string
	APIPath         string
	HopRows         []hopRow
	HistoryDisabled bool
	HistoryError    string
	Changes         []changeData
	MoreChanges     bool
	MaxChanges      int
}

// hopRow is one hop in the current path's table.
type hopRow struct {
	TTL                          int
	Address, Name, AS, MPLS      string
	RTT, Min, Max, Loss, Forward string
	Status                       string
}

// changeData is one change in the history.
type changeData struct {
	ID             uint64
	Time, ISO, Ago string
	Verdict        badge
	Before, After  string
	Diff           string
	// Routing marks a routing-only event; BGP describes the BGP changes
	// that went with the event (empty without BGP).
	Routing           bool
	BGP               string
	Rows              []diffRow
	Diagram           template.HTML
	SVGPath, Fragment string
}

// diffRow is one TTL of a change's diff table.
type diffRow struct {
	TTL           int
	Before, After string
	Changed       bool
}

// target serves a target's page.
func (h *handler) target(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, ok := h.src.Target(name)
	if !ok {
		h.fail(w, http.StatusNotFound, fmt.Sprintf("Unknown target %q.", name))
		return
	}
	now := h.now()
	d := targetData{Target: t, Status: targetStatus(t), RTT: msPtr(t.DestRTTSeconds), Loss: pctPtr(t.DestLossRatio),
		SVGPath: h.targetPath(name) + "/path.svg", SVGURL: h.targetURL(name) + "/path.svg",
		APIPath: h.prefix + "/api/v1/targets/" + url.PathEscape(name), MaxChanges: maxChanges}
	if t.PathSince != nil {
		d.PathSinceText = stamp(*t.PathSince) + " (" + ago(now, *t.PathSince) + ")"
	}
	if c := t.LastChange; c != nil {
		d.LastChangeText = fmt.Sprintf("%s (%s), %s, %d → %d hops", stamp(c.Time), ago(now, c.Time), c.Verdict, c.FromHops, c.ToHops)
	}
	var err error
	if d.Diagram, err = inlineSVG(pathSpec(t, "")); err != nil {
		h.fail(w, http.StatusInternalServerError, "Cannot draw the path: "+err.Error())
		return
	}
	for i, hop := range t.Path {
		d.HopRows = append(d.HopRows, newHopRow(hop, t.Reached && i == len(t.Path)-1))
	}
	if err := h.history(&d, name, now); err != nil {
		h.fail(w, http.StatusInternalServerError, "Cannot draw a change: "+err.Error())
		return
	}
	h.page(w, http.StatusOK, "target.html", t.Name, d)
}

// newHopRow is h's line in the hop table.
func newHopRow(h api.Hop, dest bool) hopRow {
	r := hopRow{TTL: h.TTL, Address: h.Address, Name: h.Name, AS: asText(h.ASN, h.ASOrg), MPLS: h.MPLS,
		RTT: dash, Min: dash, Max: dash, Loss: pct(h.LossRatio), Forward: pct(h.ForwardLossRatio)}
	if r.Address == "" {
		r.Address = "* no reply"
	}
	if h.RTT != nil {
		r.RTT, r.Min, r.Max = ms(h.RTT.MeanSeconds), ms(h.RTT.MinSeconds), ms(h.RTT.MaxSeconds)
	}
	s := styles[hopLevel(h, dest)]
	r.Status = s.Icon + " " + strings.SplitN(s.Legend, ":", 2)[0]
	return r
}

// history fills d's change history; an error is one drawing a change
// (a store error is shown on the page instead).
func (h *handler) history(d *targetData, name string, now time.Time) error {
	if h.hist == nil {
		d.HistoryDisabled = true
		return nil
	}
	changes, err := h.hist.Changes(name, time.Time{}, maxChanges+1)
	if err != nil {
		d.HistoryError = err.Error()
		return nil
	}
	if len(changes) > maxChanges {
		changes, d.MoreChanges = changes[:maxChanges], true
	}
	for _, c := range changes {
		cd := changeData{ID: c.ID, Time: stamp(c.Time), ISO: iso(c.Time), Ago: ago(now, c.Time),
			Verdict: verdictBadge(c.Verdict), Before: snapshotText(c.Before), After: snapshotText(c.After),
			Diff: diffText(c.DiffTTLs), Rows: diffRows(c), Fragment: fmt.Sprintf("change-%d", c.ID),
			Routing: c.Kind == history.KindRouting, BGP: bgpText(c),
			SVGPath: fmt.Sprintf("%s/changes/%d.svg", h.targetPath(name), c.ID)}
		if len(d.Changes) < maxDiagrams {
			if cd.Diagram, err = inlineSVG(changeSpec(c, "")); err != nil {
				return err
			}
		}
		d.Changes = append(d.Changes, cd)
	}
	return nil
}

// diffText lists the differing TTLs.
func diffText(ttls []int) string {
	if len(ttls) == 0 {
		return "no responder differs (only silent hops or statistics changed)"
	}
	s := make([]string, len(ttls))
	for i, t := range ttls {
		s[i] = strconv.Itoa(t)
	}
	return "differing hops (TTL): " + strings.Join(s, ", ")
}

// diffRows is c's diff table: every TTL of either side.
func diffRows(c history.Change) []diffRow {
	side := func(hops []history.Hop, ttl int) string {
		for _, h := range hops {
			if h.TTL == ttl {
				if !h.Addr.IsValid() {
					return "* no reply"
				}
				return strings.TrimSpace(h.Addr.String() + " " + h.Name + " " + asText(h.ASN, ""))
			}
		}
		return dash
	}
	n := max(maxTTL(c.Before.Path), maxTTL(c.After.Path))
	var rows []diffRow
	for ttl := 1; ttl <= n; ttl++ {
		r := diffRow{TTL: ttl, Before: side(c.Before.Path, ttl), After: side(c.After.Path, ttl)}
		for _, d := range c.DiffTTLs {
			r.Changed = r.Changed || d == ttl
		}
		rows = append(rows, r)
	}
	return rows
}

// maxTTL is the largest TTL of hops, 0 for none.
func maxTTL(hops []history.Hop) int {
	n := 0
	for _, h := range hops {
		n = max(n, h.TTL)
	}
	return n
}

// bgpText says which BGP changes went with c: "" without BGP.
func bgpText(c history.Change) string {
	if !c.BGPChecked {
		return ""
	}
	if len(c.BGP) == 0 {
		return "no BGP change of the route to the target explains it"
	}
	return history.DescribeBGPChanges(c.BGP)
}
