package main

// result is one scale's measurements. Rates are probes per second; CPU is
// user + system time of the process, the kernel's work for its packets
// included.
type result struct {
	Targets        int     `json:"targets"`
	ConfiguredRate float64 `json:"probes_per_second_configured"`
	AchievedRate   float64 `json:"probes_per_second_achieved"`
	CounterRate    float64 `json:"probes_per_second_exporter_counter"`
	CPUCores       float64 `json:"cpu_cores"`
	CPUPerProbeUS  float64 `json:"cpu_us_per_probe"`
	Raw            *loop   `json:"raw_loop,omitempty"`
	RawRatio       float64 `json:"cpu_ratio_to_raw_loop,omitempty"`
	OverRawUS      float64 `json:"cpu_us_per_probe_over_raw_loop,omitempty"`

	RSS           int64   `json:"rss_bytes"`              // VmRSS at the end of the window, before the timed scrapes
	PeakProbing   int64   `json:"peak_rss_probing_bytes"` // VmHWM before the first scrape: probing alone
	PeakRSS       int64   `json:"peak_rss_bytes"`         // VmHWM after every scrape
	HeapInuse     int64   `json:"go_heap_inuse_bytes"`    // from the exporter's Go collector, at the first scrape after the window
	GoSys         int64   `json:"go_sys_bytes"`
	Goroutines    int     `json:"goroutines"`
	ScrapeFirst   float64 `json:"scrape_first_seconds"`       // the first scrape, after the warm-up (identity)
	ScrapeSec     float64 `json:"scrape_seconds_median"`      // identity encoding, median of 5
	ScrapeGzSec   float64 `json:"scrape_gzip_seconds_median"` // gzip, as Prometheus asks, median of 5
	ScrapeBytes   int     `json:"scrape_bytes"`
	ScrapeGzBytes int     `json:"scrape_gzip_bytes"`
	Samples       int     `json:"scrape_samples"`

	health
	ReplyShare float64 `json:"reply_share"` // replies / probes sent between the scrapes before and after the window
	// Bounds of the share of rounds with every probe answered in that
	// span: a lost probe spoils at most one round, and a spoiled round
	// has at most ttlsPerRound lost probes.
	RoundsCompleteMin float64 `json:"rounds_complete_min"`
	RoundsCompleteMax float64 `json:"rounds_complete_max"`
	// The exporter's error counters since it started, and their increase
	// between the scrapes before and after the window.
	Counters       counters `json:"counters_total"`
	CountersWindow counters `json:"counters_window"`
	Error          string   `json:"error,omitempty"`
}

// counters are the exporter's own error counters.
type counters struct {
	SocketDrops float64 `json:"socket_drops"`
	Late        float64 `json:"late_replies"`
	Unmatched   float64 `json:"unmatched_replies"`
	SendErrors  float64 `json:"send_errors"`
	Skipped     float64 `json:"probes_skipped"`
}

// readCounters reads the error counters of an exposition.
func readCounters(e *exposition) counters {
	return counters{
		SocketDrops: e.Sums["traceroute_exporter_socket_drops_total"],
		Late:        e.Sums["traceroute_exporter_late_replies_total"],
		Unmatched:   e.Sums["traceroute_exporter_unmatched_replies_total"],
		SendErrors:  e.Sums["traceroute_exporter_send_errors_total"],
		Skipped:     e.Sums["traceroute_exporter_probes_skipped_total"],
	}
}

// minus returns c - d, field by field.
func (c counters) minus(d counters) counters {
	return counters{c.SocketDrops - d.SocketDrops, c.Late - d.Late, c.Unmatched - d.Unmatched, c.SendErrors - d.SendErrors, c.Skipped - d.Skipped}
}

// loop is the bare raw-socket loop's measurement at the exporter's rate.
type loop struct {
	Rate          float64 `json:"probes_per_second_achieved"`
	CPUCores      float64 `json:"cpu_cores"`
	CPUPerProbeUS float64 `json:"cpu_us_per_probe"`
	ReplyShare    float64 `json:"reply_share"`
}
