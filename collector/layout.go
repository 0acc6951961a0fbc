package collector

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// group is a set of series of one target that share their labels: the
// target's own (target and the static labels) plus the group's.
type group uint8

const (
	gTarget  group = iota // one series per target
	gAddress              // target_info: + address, when the target has one
	gChange               // path_last_change_info: + id, verdict, before, after, bgp
	gRoute                // bgp_route_info: + prefix, as_path, next_hop, when a route covers the target
	gHop                  // every TTL of every flow's path: + hop (+ flow)
	gInfo                 // every TTL that has a responder: + ip, name, asn, mpls, interface
	gUnreach              // every TTL answered by an Unreachable: + code
	nGroups
)

// slabel is a label of a series beyond the target's own.
type slabel uint8

const (
	sAddress slabel = iota
	sID
	sVerdict
	sBefore
	sAfter
	sHop
	sFlow
	sIP
	sName
	sASN
	sMPLS
	sInterface
	sCode
	sPrefix
	sASPath
	sNextHop
	sBGP
)

var slabelNames = [...]string{"address", "id", "verdict", "before", "after", "hop", "flow", "ip", "name", "asn", "mpls", "interface", "code", "prefix", "as_path", "next_hop", "bgp"}

// groupLabels are each group's own labels; the flow label is added to
// every per-hop group when some target has several flows.
var groupLabels = [nGroups][]slabel{
	gAddress: {sAddress},
	gChange:  {sID, sVerdict, sBefore, sAfter, sBGP},
	gRoute:   {sPrefix, sASPath, sNextHop},
	gHop:     {sHop},
	gInfo:    {sHop, sIP, sName, sASN, sMPLS, sInterface},
	gUnreach: {sHop, sCode},
}

// layout is the label names of one group in the exposition's order
// (sorted) and where each value comes from.
type layout struct {
	names []string
	// pos is, for each name, the index of a target value (>= 0: e.tv)
	// or -1-slabel.
	pos []int
	// segs are the runs of pos as the text path writes them: a run of
	// consecutive target values [from, to) comes pre-rendered in e.tj.
	segs []segment
}

type segment struct {
	from, to int    // target values; to == from: the label s
	s        slabel // when from == to
}

// layouts are the label layouts of every group for one label set.
type layouts struct {
	static   []string // the static label names, sorted
	withFlow bool
	tnames   []string // target and the static label names, sorted: names of e.tv
	target   int      // the index of target in tnames
	group    [nGroups]layout
	descs    []*prometheus.Desc // one per families entry
	// text tells whether the text path can write these labels exactly as
	// the registry would (legacy names, none reused); else it falls back.
	text bool
}

func newLayouts(static []string, withFlow bool) *layouts {
	l := &layouts{static: static, withFlow: withFlow, text: true}
	l.tnames = append([]string{"target"}, static...)
	sort := func(s []string) []string { slices.Sort(s); return s }
	sort(l.tnames)
	l.target = slices.Index(l.tnames, "target")
	for i, n := range l.tnames {
		if !model.LegacyValidation.IsValidLabelName(n) || strings.HasPrefix(n, "__") || i > 0 && n == l.tnames[i-1] {
			l.text = false
		}
	}
	for g := range nGroups {
		ls := groupLabels[g]
		if withFlow && g >= gHop {
			ls = append(ls[:len(ls):len(ls)], sFlow)
		}
		names := slices.Clone(l.tnames)
		for _, s := range ls {
			if slices.Contains(l.tnames, slabelNames[s]) {
				l.text = false
			}
			names = append(names, slabelNames[s])
		}
		lay := &l.group[g]
		lay.names = sort(names)
		for _, n := range lay.names {
			if k := slices.Index(l.tnames, n); k >= 0 {
				lay.pos = append(lay.pos, k)
			} else {
				lay.pos = append(lay.pos, -1-slices.Index(slabelNames[:], n))
			}
		}
		for _, p := range lay.pos {
			switch n := len(lay.segs); {
			case p < 0:
				lay.segs = append(lay.segs, segment{s: slabel(-1 - p)})
			case n > 0 && lay.segs[n-1].to == p && lay.segs[n-1].to > lay.segs[n-1].from:
				lay.segs[n-1].to++
			default:
				lay.segs = append(lay.segs, segment{from: p, to: p + 1})
			}
		}
	}
	for _, f := range families {
		l.descs = append(l.descs, prometheus.NewDesc(namespace+"_"+f.name, f.help, l.group[f.group].names, nil))
	}
	return l
}

// values are every label value of series i of e, in names' order.
func (lay *layout) values(e *entry, i int) []string {
	vs := make([]string, len(lay.pos))
	for p, k := range lay.pos {
		if k >= 0 {
			vs[p] = e.tv[k]
		} else {
			vs[p] = e.label(slabel(-1-k), i)
		}
	}
	return vs
}

// decimals are the text of small numbers (TTLs, flows, ICMP codes).
var decimals = func() (d [256]string) {
	for i := range d {
		d[i] = strconv.Itoa(i)
	}
	return d
}()

func decimal(n int) string {
	if n >= 0 && n < len(decimals) {
		return decimals[n]
	}
	return strconv.Itoa(n)
}
