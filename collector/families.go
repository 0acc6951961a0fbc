package collector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// family is one per-target metric family: its name (without the
// namespace), help, type, the group of series it has (which fixes its
// labels) and its value. value reports the value of series i of entry e
// (see group) and whether the target has that series at all.
//
// The registry path (Collect) and the text path (WriteText) both read
// this table, so a family is defined once.
type family struct {
	name, help string
	typ        prometheus.ValueType
	group      group
	value      func(e *entry, i int) (float64, bool)
}

// always and observed are the presence rules of the per-target families:
// counters always exist; the last interval's gauges once one ended; the
// path's gauges once a path is known (then e.hops is the path's TTLs).
func always(v float64) (float64, bool)             { return v, true }
func observed(e *entry, v float64) (float64, bool) { return v, e.s.Observed }
func known(e *entry, v float64) (float64, bool)    { return v, e.known }

// hasRTT is a TTL's RTT statistic when some probe of it was answered.
func hasRTT(e *entry, i int, v float64) (float64, bool) { return v, e.hops[i].st.RTT.N > 0 }

// hasSent is a TTL's loss statistic when some probe of it went out: a
// TTL whose every probe the hop budget held back has no loss to show.
func hasSent(e *entry, i int, v float64) (float64, bool) { return v, e.hops[i].st.Sent > 0 }

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// families are the per-target families; their order does not matter.
var families = []family{
	{"path_flows", "Distinct paths among the flows that trace the target (1 for one flow; more means a load balancer splits them).", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return known(e, float64(e.s.PathFlows)) }},
	{"destination_reached", "Whether the destination answered in the last interval (1) or not (0).", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return observed(e, boolf(e.s.Last.Reached)) }},
	{"hops", "Hop count of the current path (the longest of the flows' paths): the destination's TTL, or the last responding hop's if the destination never answered on this path.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return known(e, float64(e.s.MaxHops())) }},
	{"destination_rtt_seconds", "Mean round-trip time to the destination over the last interval.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			return e.s.Last.Dest.RTT.Mean.Seconds(), e.known && e.s.Reached && e.s.Last.Dest.RTT.N > 0
		}},
	{"destination_loss_ratio", "Share of the last interval's probes to the destination that got no reply (0..1).", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return known(e, e.s.Last.Dest.Loss) }},
	{"path_hash", "Stable 52-bit hash of the current path's identity (hop count and the responder of each hop; with several flows, of the set of their paths); changes exactly when a path change is counted.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return known(e, float64(e.s.PathHash)) }},
	{"path_changes_total", "Confirmed path changes (another responder at a hop, or another hop count, seen in more than one round).", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.s.PathChanges)) }},
	{"path_last_change_timestamp_seconds", "Time the current path was first seen: its last change, or the first interval if it never changed.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return known(e, unix(e.s.PathSince)) }},
	{"probes_sent_total", "Probes sent to the target, every TTL counted.", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.s.ProbesSent)) }},
	{"probe_replies_total", "Replies received to the target's probes.", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.s.Replies)) }},
	{"last_run_timestamp_seconds", "Time the last interval of tracing ended.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) { return observed(e, unix(e.s.Last.End)) }},
	{"resolve_errors_total", "Failed DNS lookups of the target's host.", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.s.ResolveErrors)) }},
	{"hop_rtt_seconds", "Mean round-trip time to the hop over the last interval.", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasRTT(e, i, e.hops[i].st.RTT.Mean.Seconds()) }},
	{"hop_rtt_min_seconds", "Minimum round-trip time to the hop over the last interval.", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasRTT(e, i, e.hops[i].st.RTT.Min.Seconds()) }},
	{"hop_rtt_max_seconds", "Maximum round-trip time to the hop over the last interval.", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasRTT(e, i, e.hops[i].st.RTT.Max.Seconds()) }},
	{"hop_rtt_stddev_seconds", "Standard deviation of the round-trip time to the hop over the last interval.", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasRTT(e, i, e.hops[i].st.RTT.Stddev.Seconds()) }},
	{"hop_loss_ratio", "Share of the last interval's probes at this hop that got no reply (0..1); absent when none went out (the hop budget held them back).", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasSent(e, i, e.hops[i].st.Loss) }},
	{"hop_info", "The responder of the hop on the current path (value 1), with its reverse-DNS name and AS number when known; absent for a hop that never answered.", gauge, gInfo,
		func(*entry, int) (float64, bool) { return always(1) }},
	{"hop_unreachable_info", "A Destination Unreachable answered at the hop in the last interval, with its ICMP code (e.g. 3: port, 13: administratively prohibited for IPv4) (value 1).", gauge, gUnreach,
		func(*entry, int) (float64, bool) { return always(1) }},
	{"hop_asn", "AS number of the hop's responder; absent when unknown.", gauge, gHop,
		func(e *entry, i int) (float64, bool) {
			h := &e.hops[i]
			asn := e.info(h).ASN
			return float64(asn), asn != 0 && e.responder(h).IsValid()
		}},
	{"hop_forward_loss_ratio", "Share of the hop's probes lost in rounds where every later hop was lost too: loss that persists to the destination (0..1); absent when none went out.", gauge, gHop,
		func(e *entry, i int) (float64, bool) { return hasSent(e, i, e.hops[i].st.ForwardLoss) }},
	{"as_path_hash", "Stable 52-bit hash of the AS path (the distinct consecutive known AS numbers of the path).", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			return float64(e.ev.ASPathHash), e.known && len(e.ev.ASPath) > 0
		}},
	{"as_path_length", "Number of ASes on the path (distinct consecutive known AS numbers).", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			return float64(len(e.ev.ASPath)), e.known && len(e.ev.ASPath) > 0
		}},
	{"as_path_changes_total", "Times the sequence of known AS numbers of the path changed.", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.ev.ASPathChanges)) }},
	{"path_last_change_info", "The latest judged path change (value 1): its id in the history (0 without persistence), verdict, the paths before and after in one line each, and the BGP changes of the target's covering route that went with it (bgp: \"none\" when none did; empty without BGP), for alert notifications.", gauge, gChange,
		func(*entry, int) (float64, bool) { return always(1) }},
	{"path_degradations_total", "Path changes judged worse (more hops, longer AS path, higher destination RTT or loss, or lost reachability).", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.ev.Degradations)) }},
	{"target_info", "The address the target is traced at (value 1).", gauge, gAddress,
		func(*entry, int) (float64, bool) { return always(1) }},
	{"path_mtu_bytes", "Path MTU from the last search (IP packet bytes, headers included; 0 when not even the smallest probe got through); only for targets with pmtu.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			if m := e.s.MTU; m != nil {
				return float64(m.Bytes), true
			}
			return 0, false
		}},
	{"path_mtu_hop", "The hop where the path narrows to its MTU: the router that sent Fragmentation Needed or Packet Too Big (0: the host's own interface); absent when unknown.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			if m := e.s.MTU; m != nil && m.Bytes > 0 && m.Hop >= 0 {
				return float64(m.Hop), true
			}
			return 0, false
		}},
	{"bgp_route_info", "The BGP best route covering the target's address (value 1): the longest matching prefix, its AS path (nearest AS first) and next hop; absent when no route covers it.", gauge, gRoute,
		func(*entry, int) (float64, bool) { return always(1) }},
	{"bgp_route_present", "Whether a BGP route covers the target's address (1) or not (0); only with BGP configured.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			return boolf(e.ev.BGP != nil && e.ev.BGP.Route != nil), e.ev.BGP != nil
		}},
	{"bgp_as_path_length", "Number of AS numbers in the AS path of the BGP route covering the target (prepends counted); absent without a route.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			if v := e.ev.BGP; v != nil && v.Route != nil {
				return float64(len(v.Route.ASPath)), true
			}
			return 0, false
		}},
	{"bgp_route_changes_total", "Changes of the BGP route covering the target: another best path or prefix, an announcement or a withdrawal; only with BGP configured.", counter, gTarget,
		func(e *entry, _ int) (float64, bool) {
			if v := e.ev.BGP; v != nil {
				return float64(v.Changes), true
			}
			return 0, false
		}},
	{"as_path_mismatch", "Whether the traced AS path disagrees with the AS path of the BGP route covering the target (1) or not (0): a traced AS, the local AS left out, missing from the announced path or out of its order (README: Traced vs announced); absent when there is nothing to compare.", gauge, gTarget,
		func(e *entry, _ int) (float64, bool) {
			if v := e.ev.BGP; v != nil && v.MismatchKnown {
				return boolf(v.Mismatch), e.known
			}
			return 0, false
		}},
	{"target_address_changes_total", "Times the target's traced address changed (its DNS answers no longer held it).", counter, gTarget,
		func(e *entry, _ int) (float64, bool) { return always(float64(e.s.AddressChanges)) }},
}
