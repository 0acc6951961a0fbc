package web

import (
	"fmt"
	"slices"
	"strings"

	"github.com/traceroute-exporter/traceroute_exporter/api"
	"github.com/traceroute-exporter/traceroute_exporter/history"
)

// This file turns the API's targets and the history's changes into
// diagram specs: which boxes, which text, which level.

// hopLevel classifies a hop with statistics; dest tells whether it is the
// destination, whose response loss is its forward loss.
func hopLevel(h api.Hop, dest bool) level {
	if h.Address == "" {
		return levelSilent
	}
	loss, fwd := h.LossRatio, h.ForwardLossRatio
	if !finite(loss) {
		loss = 0
	}
	if !finite(fwd) {
		fwd = 0
	}
	if dest {
		fwd = max(fwd, loss)
	}
	rtt := 0.0
	if h.RTT != nil && finite(h.RTT.MeanSeconds) {
		rtt = h.RTT.MeanSeconds
	}
	switch {
	case fwd >= badForward || rtt >= badRTT:
		return levelBad
	case loss >= warnLoss || fwd >= warnForward || rtt >= warnRTT:
		return levelWarn
	}
	return levelOK
}

// asText is "AS<n> <org>", or empty when the ASN is unknown.
func asText(asn uint32, org string) string {
	if asn == 0 {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("AS%d %s", asn, org))
}

// sourceBox is the box of the exporter itself.
func sourceBox() box {
	return box{Level: levelSource, Head: "source", Lines: []string{"this exporter"}, Tip: "source: this exporter"}
}

// hopBox is the box of a hop of the current path.
func hopBox(h api.Hop, dest bool) box {
	head := fmt.Sprintf("TTL %d", h.TTL)
	if dest {
		head += " · destination"
	}
	b := box{Level: hopLevel(h, dest), Head: head, TTL: h.TTL, Addr: h.Address}
	addr := h.Address
	if addr == "" {
		addr = "* no reply"
	}
	rtt := "RTT " + dash
	if h.RTT != nil {
		rtt = fmt.Sprintf("RTT %s (%s–%s) ms", msNumber(h.RTT.MeanSeconds), msNumber(h.RTT.MinSeconds), msNumber(h.RTT.MaxSeconds))
	}
	loss := fmt.Sprintf("loss %s · fwd %s", pct(h.LossRatio), pct(h.ForwardLossRatio))
	if s := styles[b.Level]; b.Level != levelOK {
		loss += " " + s.Icon
	}
	b.Lines = []string{addr, h.Name, asText(h.ASN, h.ASOrg), rtt, loss}
	tip := []string{head, "address: " + addr}
	if h.Name != "" {
		tip = append(tip, "name: "+h.Name)
	}
	if as := asText(h.ASN, h.ASOrg); as != "" {
		tip = append(tip, as)
	}
	if h.MPLS != "" {
		b.Lines = append(b.Lines, "MPLS "+h.MPLS)
		tip = append(tip, "MPLS: "+h.MPLS)
	}
	if h.RTT != nil {
		tip = append(tip, fmt.Sprintf("RTT mean %s, min %s, max %s, stddev %s", ms(h.RTT.MeanSeconds),
			ms(h.RTT.MinSeconds), ms(h.RTT.MaxSeconds), ms(h.RTT.StddevSeconds)))
	}
	tip = append(tip, fmt.Sprintf("replies %d of %d; response loss %s, forward loss %s",
		h.Replies, h.Sent, pct(h.LossRatio), pct(h.ForwardLossRatio)), "status: "+styles[b.Level].Legend)
	b.Tip = strings.Join(tip, "\n")
	return b
}

// currentLane is the source, t's hops and, when the destination was not
// reached (or the target not traced yet), an end box saying so.
func currentLane(t api.Target) lane {
	ln := lane{sourceBox()}
	if !t.Observed {
		return append(ln, box{Level: levelPending, Head: "not yet traced",
			Lines: []string{t.Address}, Tip: "not yet traced: " + t.Address})
	}
	for i, h := range t.Path {
		ln = append(ln, hopBox(h, t.Reached && i == len(t.Path)-1))
	}
	if !t.Reached {
		ln = append(ln, box{Level: levelBad, Head: "not reached",
			Lines: []string{t.Address, "destination"}, Tip: "destination not reached: " + t.Address})
	}
	return ln
}

// currentLanes is one lane per flow of t, side by side, when it is traced
// by several flows (every branch of a load balancer), else its one path.
func currentLanes(t api.Target) []lane {
	if len(t.Flows) < 2 || !t.Observed {
		return []lane{currentLane(t)}
	}
	lanes := make([]lane, 0, len(t.Flows))
	for _, f := range t.Flows {
		ft := t
		ft.Path = f
		lanes = append(lanes, currentLane(ft))
	}
	return lanes
}

// targetStatus is the word for t's state.
func targetStatus(t api.Target) badge {
	switch {
	case !t.Observed:
		return badge{"pending", "…", "not yet traced"}
	case t.Reached:
		return badge{"reached", "✓", "reached"}
	}
	return badge{"unreached", "✕", "not reached"}
}

// pathSpec is the diagram of t's current path. Each flow of a target
// would be one lane; there is one flow per target so far.
func pathSpec(t api.Target, link string) spec {
	title := fmt.Sprintf("%s → %s · %s · %s", t.Name, t.Address, hopCount(t.Hops), targetStatus(t).Text)
	if !t.Observed {
		title = fmt.Sprintf("%s → %s · not yet traced", t.Name, t.Address)
	}
	return spec{Title: title, Link: link,
		Sections: []section{{Lanes: currentLanes(t)}},
		Legend:   []level{levelSource, levelOK, levelWarn, levelBad, levelSilent}}
}

// recordedLane is the source and the hops of a recorded path; the TTLs in
// diff are marked as changed.
func recordedLane(hops []history.Hop, diff []int) lane {
	ln := lane{sourceBox()}
	for _, h := range hops {
		b := box{Level: levelSame, Head: fmt.Sprintf("TTL %d", h.TTL), TTL: h.TTL}
		if slices.Contains(diff, h.TTL) {
			b.Level, b.Head = levelChanged, b.Head+" · Δ changed"
		}
		addr := "* no reply"
		if h.Addr.IsValid() {
			addr, b.Addr = h.Addr.String(), h.Addr.String()
		} else if b.Level != levelChanged {
			b.Level = levelSilent
		}
		b.Lines = []string{addr, h.Name, asText(h.ASN, "")}
		b.Tip = strings.Join(slices.DeleteFunc([]string{b.Head, "address: " + addr, h.Name, asText(h.ASN, "")},
			func(s string) bool { return s == "" }), "\n")
		ln = append(ln, b)
	}
	return ln
}

// hopCount is "1 hop" or "n hops".
func hopCount(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}

// snapshotText summarizes one side of a change.
func snapshotText(s history.Snapshot) string {
	reached := "not reached"
	if s.Reached {
		reached = "reached"
	}
	rtt := dash
	if s.DestRTT > 0 {
		rtt = ms(s.DestRTT.Seconds())
	}
	return fmt.Sprintf("%s · %s · destination RTT %s, loss %s", hopCount(s.Hops), reached, rtt, pct(s.DestLoss))
}

// changeSpec is the before/after diagram of c, the differing hops marked.
func changeSpec(c history.Change, link string) spec {
	return spec{
		Title: fmt.Sprintf("%s · change %d · %s · %s", c.Target, c.ID, stamp(c.Time), c.Verdict),
		Link:  link,
		Sections: []section{
			{Title: "Before: " + snapshotText(c.Before), Lanes: []lane{recordedLane(c.Before.Path, c.DiffTTLs)}},
			{Title: "After: " + snapshotText(c.After), Lanes: []lane{recordedLane(c.After.Path, c.DiffTTLs)}},
		},
		Legend: []level{levelSource, levelSame, levelChanged, levelSilent},
	}
}
