package collector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// descs are the per-target metric descriptors for one set of static labels.
type descs struct {
	reached, hops, destRTT, destLoss                    *prometheus.Desc
	pathHash, pathChanges, pathSince                    *prometheus.Desc
	probesSent, replies, lastRun, resolveErrors         *prometheus.Desc
	hopRTT, hopRTTMin, hopRTTMax, hopRTTStddev, hopLoss *prometheus.Desc
	hopInfo, targetInfo, addrChanges                    *prometheus.Desc
	hopASN, hopFwdLoss                                  *prometheus.Desc
	asPathHash, asPathLength, asPathChanges             *prometheus.Desc
	degradations, hopUnreach, lastChange                *prometheus.Desc
	pathFlows                                           *prometheus.Desc
	// withFlow: the per-hop families have a flow label (some target is
	// traced by more than one flow).
	withFlow bool
}

func newDescs(static []string, withFlow bool) *descs {
	target := append([]string{"target"}, static...)
	hop := append(target[:len(target):len(target)], "hop")
	if withFlow {
		hop = append(hop, "flow")
	}
	info := append(hop[:len(hop):len(hop)], "ip", "name", "asn", "mpls", "interface")
	unreach := append(hop[:len(hop):len(hop)], "code")
	change := append(target[:len(target):len(target)], "id", "verdict", "before", "after")
	address := append(target[:len(target):len(target)], "address")
	n := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	}
	return &descs{
		withFlow:      withFlow,
		pathFlows:     n("path_flows", "Distinct paths among the flows that trace the target (1 for one flow; more means a load balancer splits them).", target),
		reached:       n("destination_reached", "Whether the destination answered in the last interval (1) or not (0).", target),
		hops:          n("hops", "Hop count of the current path (the longest of the flows' paths): the destination's TTL, or the last responding hop's if the destination never answered on this path.", target),
		destRTT:       n("destination_rtt_seconds", "Mean round-trip time to the destination over the last interval.", target),
		destLoss:      n("destination_loss_ratio", "Share of the last interval's probes to the destination that got no reply (0..1).", target),
		pathHash:      n("path_hash", "Stable 52-bit hash of the current path's identity (hop count and the responder of each hop; with several flows, of the set of their paths); changes exactly when a path change is counted.", target),
		pathChanges:   n("path_changes_total", "Confirmed path changes (another responder at a hop, or another hop count, seen in more than one round).", target),
		pathSince:     n("path_last_change_timestamp_seconds", "Time the current path was first seen: its last change, or the first interval if it never changed.", target),
		probesSent:    n("probes_sent_total", "Probes sent to the target, every TTL counted.", target),
		replies:       n("probe_replies_total", "Replies received to the target's probes.", target),
		lastRun:       n("last_run_timestamp_seconds", "Time the last interval of tracing ended.", target),
		resolveErrors: n("resolve_errors_total", "Failed DNS lookups of the target's host.", target),
		hopRTT:        n("hop_rtt_seconds", "Mean round-trip time to the hop over the last interval.", hop),
		hopRTTMin:     n("hop_rtt_min_seconds", "Minimum round-trip time to the hop over the last interval.", hop),
		hopRTTMax:     n("hop_rtt_max_seconds", "Maximum round-trip time to the hop over the last interval.", hop),
		hopRTTStddev:  n("hop_rtt_stddev_seconds", "Standard deviation of the round-trip time to the hop over the last interval.", hop),
		hopLoss:       n("hop_loss_ratio", "Share of the last interval's probes at this hop that got no reply (0..1).", hop),
		hopInfo:       n("hop_info", "The responder of the hop on the current path (value 1), with its reverse-DNS name and AS number when known; absent for a hop that never answered.", info),
		hopUnreach:    n("hop_unreachable_info", "A Destination Unreachable answered at the hop in the last interval, with its ICMP code (e.g. 3: port, 13: administratively prohibited for IPv4) (value 1).", unreach),
		hopASN:        n("hop_asn", "AS number of the hop's responder; absent when unknown.", hop),
		hopFwdLoss:    n("hop_forward_loss_ratio", "Share of the hop's probes lost in rounds where every later hop was lost too: loss that persists to the destination (0..1).", hop),
		asPathHash:    n("as_path_hash", "Stable 52-bit hash of the AS path (the distinct consecutive known AS numbers of the path).", target),
		asPathLength:  n("as_path_length", "Number of ASes on the path (distinct consecutive known AS numbers).", target),
		asPathChanges: n("as_path_changes_total", "Times the sequence of known AS numbers of the path changed.", target),
		lastChange:    n("path_last_change_info", "The latest judged path change (value 1): its id in the history (0 without persistence), verdict, and the paths before and after in one line each, for alert notifications.", change),
		degradations:  n("path_degradations_total", "Path changes judged worse (more hops, longer AS path, higher destination RTT or loss, or lost reachability).", target),
		targetInfo:    n("target_info", "The address the target is traced at (value 1).", address),
		addrChanges:   n("target_address_changes_total", "Times the target's traced address changed (its DNS answers no longer held it).", target),
	}
}

// selfDescs describe the exporter itself.
type selfDescs struct {
	targets, reloadOK, reloadTime, unmatched, late, malformed, sendErrors, socketDrops, historyErrors, badExt *prometheus.Desc
	info                                                                                                      *prometheus.Desc
}

func newSelfDescs() selfDescs {
	n := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_exporter_"+name, help, nil, nil)
	}
	return selfDescs{
		targets:       n("targets", "Number of configured targets."),
		reloadOK:      n("config_last_reload_successful", "Whether the last configuration reload succeeded (1) or not (0)."),
		reloadTime:    n("config_last_reload_success_timestamp_seconds", "Time of the last successful configuration reload."),
		unmatched:     n("unmatched_replies_total", "Replies that matched no probe (another program's, a removed target's, or forged); dropped."),
		late:          n("late_replies_total", "Replies the kernel received after their probe's timeout; dropped, never used as an RTT."),
		socketDrops:   n("socket_drops_total", "Packets the kernel dropped because a socket's receive buffer was full."),
		historyErrors: n("history_errors_total", "Failed reads and writes of the path history store."),
		info:          prometheus.NewDesc(namespace+"_exporter_info", "How the exporter traces (value 1): mode raw (CAP_NET_RAW: icmp, udp, tcp) or unprivileged (ICMP datagram sockets: icmp only).", []string{"mode"}, nil),
		badExt:        n("malformed_extensions_total", "ICMP extensions (RFC 4884: MPLS, interface information) that did not decode; their replies were still used."),
		malformed:     n("malformed_packets_total", "Received packets that could not be decoded; dropped."),
		sendErrors:    n("send_errors_total", "Probes the socket refused to send."),
	}
}

func (c *Collector) collectSelf(ch chan<- prometheus.Metric, targets int) {
	s := c.self
	ch <- prometheus.MustNewConstMetric(s.targets, prometheus.GaugeValue, float64(targets))
	if c.src.Mode != "" {
		ch <- prometheus.MustNewConstMetric(s.info, prometheus.GaugeValue, 1, c.src.Mode)
	}
	ok, last := c.src.Reload()
	ch <- prometheus.MustNewConstMetric(s.reloadOK, prometheus.GaugeValue, boolf(ok))
	if !last.IsZero() {
		ch <- prometheus.MustNewConstMetric(s.reloadTime, prometheus.GaugeValue, unix(last))
	}
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(s.unmatched, prometheus.CounterValue, float64(st.Unmatched))
	ch <- prometheus.MustNewConstMetric(s.late, prometheus.CounterValue, float64(st.Late))
	ch <- prometheus.MustNewConstMetric(s.socketDrops, prometheus.CounterValue, float64(st.SocketDrops))
	ch <- prometheus.MustNewConstMetric(s.historyErrors, prometheus.CounterValue, float64(st.HistoryErrors))
	ch <- prometheus.MustNewConstMetric(s.badExt, prometheus.CounterValue, float64(st.BadExtensions))
	ch <- prometheus.MustNewConstMetric(s.malformed, prometheus.CounterValue, float64(st.Malformed))
	ch <- prometheus.MustNewConstMetric(s.sendErrors, prometheus.CounterValue, float64(st.SendErrors))
}
