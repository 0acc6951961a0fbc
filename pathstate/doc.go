// Package pathstate turns tracer results into what traceroute_exporter
// reports about each target: per-hop statistics over an interval, the
// path's identity (which ignores silent hops), change detection, and an
// immutable snapshot that the collector reads without locks.
//
// Everything here is pure logic over tracer.Result values: no sockets, no
// clock, no Prometheus.
package pathstate
