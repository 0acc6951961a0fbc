package main

import (
	"math"
	"net/netip"

	"github.com/traceroute-exporter/traceroute_exporter/api"
	"github.com/traceroute-exporter/traceroute_exporter/enrich"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
	"github.com/traceroute-exporter/traceroute_exporter/prober"
	"github.com/traceroute-exporter/traceroute_exporter/sources"
)

// apiSource adapts the manager's targets to the JSON API's view.
type apiSource struct{ m *prober.Manager }

// Targets implements api.Source.
func (s apiSource) Targets() []api.Target {
	ts := s.m.Targets()
	out := make([]api.Target, len(ts))
	for i, t := range ts {
		out[i] = apiTarget(t, false)
	}
	return out
}

// Target implements api.Source.
func (s apiSource) Target(name string) (api.Target, bool) {
	t, ok := s.m.Target(name)
	if !ok {
		return api.Target{}, false
	}
	return apiTarget(t, true), true
}

// apiTarget is one target's view; withPath adds its hops.
func apiTarget(t prober.Target, withPath bool) api.Target {
	s, ev := t.Snapshot, t.Evidence
	out := api.Target{Name: t.Config.Name, Labels: t.Config.Labels, ASPath: []uint32{}}
	if s.Address.IsValid() {
		out.Address = s.Address.String()
	}
	if ev != nil {
		out.ASPath, out.ASPathChanges, out.Degradations = ev.ASPath, ev.ASPathChanges, ev.Degradations
		if c := ev.LastChange; c != nil {
			out.LastChange = &api.ChangeSummary{Time: c.Time, Verdict: c.Verdict, FromHops: c.FromHops, ToHops: c.ToHops}
		}
		out.BGP = apiBGP(ev.BGP)
	}
	out.PathChanges, out.PathFlows = s.PathChanges, s.PathFlows
	if !s.Observed || !s.Path.Known() {
		return out
	}
	in := s.Last
	out.Observed, out.Reached, out.Hops = true, in.Reached, s.Path.Hops
	out.PathHash = api.FormatHash(s.PathHash)
	since := s.PathSince
	out.PathSince = &since
	loss := in.Dest.Loss
	out.DestLossRatio = &loss
	if s.Reached && in.Dest.RTT.N > 0 {
		rtt := in.Dest.RTT.Mean.Seconds()
		out.DestRTTSeconds = &rtt
	}
	if !withPath {
		return out
	}
	out.Path = apiHops(in.HopStats, s.Hops, ev)
	if len(s.Flows) > 1 {
		for k, f := range s.Flows {
			e := ev
			if k > 0 {
				e = nil // names and AS numbers are looked up for flow 0
			}
			out.Flows = append(out.Flows, apiHops(f.Last.HopStats, f.Hops, e))
		}
	}
	return out
}

// apiHops is one path's hops with their statistics and what is known of
// their responders.
func apiHops(stats []pathstate.Hop, addrs []netip.Addr, ev *enrich.Evidence) []api.Hop {
	out := make([]api.Hop, 0, len(stats))
	for i, h := range stats {
		hop := api.Hop{TTL: h.TTL, Sent: h.Sent, Replies: h.Replies, LossRatio: h.Loss, ForwardLossRatio: h.ForwardLoss, MPLS: h.MPLS}
		if i < len(addrs) && addrs[i].IsValid() {
			hop.Address = addrs[i].String()
		}
		if ev != nil && i < len(ev.Hops) {
			hop.Name, hop.ASN, hop.ASOrg = ev.Hops[i].Name, ev.Hops[i].ASN, ev.Hops[i].Org
		}
		if h.RTT.N > 0 {
			hop.RTT = &api.RTT{MeanSeconds: h.RTT.Mean.Seconds(), MinSeconds: h.RTT.Min.Seconds(),
				MaxSeconds: h.RTT.Max.Seconds(), StddevSeconds: h.RTT.Stddev.Seconds()}
		}
		if math.IsNaN(hop.LossRatio) {
			hop.LossRatio = 0
		}
		out = append(out, hop)
	}
	return out
}

// apiBGP is a target's BGP view for the API; nil without BGP.
func apiBGP(v *enrich.BGPView) *api.BGP {
	if v == nil {
		return nil
	}
	out := &api.BGP{ASPath: []uint32{}, Changes: v.Changes}
	if r := v.Route; r != nil {
		out.Present, out.Prefix, out.NextHop = true, r.Prefix.String(), r.NextHop.String()
		out.ASPath = append(out.ASPath, r.ASPath...)
	}
	if v.MismatchKnown {
		m := v.Mismatch
		out.Mismatch = &m
	}
	return out
}

// apiStatus is /api/v1/status: this instance's site, shard and sources.
func apiStatus(site string, d *sources.Manager, m *prober.Manager) api.Status {
	s := api.Status{Site: site, Shard: d.Shard().String(), Targets: len(m.Targets())}
	for _, st := range d.Status() {
		s.TargetSources = append(s.TargetSources, api.SourceStatus{Name: st.Name, Targets: st.Targets, Errors: st.Errors})
	}
	return s
}
