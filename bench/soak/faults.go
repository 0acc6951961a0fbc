package main

import (
	"fmt"
	"time"
)

// kind is a fault the soak injects.
type kind string

// The faults, in the order of their rotation.
const (
	faultSilence kind = "silence" // r2 stops sending Time Exceeded (nft drop in its output hook)
	faultLoss    kind = "loss"    // r3 drops 20% of what it forwards (nft numgen random)
	faultFlap    kind = "flap"    // the r2-r3 link goes down and up every few seconds
	faultRoute   kind = "route"   // r4 takes 198.19.1.0/24 as local: those destinations are 4 hops away
	faultDNS     kind = "dns"     // the names' addresses change, a few names vanish
	faultReload  kind = "reload"  // a SIGHUP storm: targets removed and changed, a bad file, then back
	faultASN     kind = "asn"     // the ASN database is replaced by a corrupt file and reloaded
	faultScrapes kind = "scrapes" // /metrics every 100 ms, with the API and the pages
)

// rotation is the order faults take turns in.
var rotation = []kind{faultSilence, faultLoss, faultFlap, faultRoute, faultDNS, faultReload, faultASN, faultScrapes}

// slot is one fault of the schedule: kind k from At (since the exporter
// started) for Length.
type slot struct {
	At     time.Duration `json:"-"`
	Length time.Duration `json:"-"`
	Kind   kind          `json:"kind"`
}

// schedule returns the faults of a run of total: one every `every`, the
// first at every/2, taking turns in rotation's order, each lasting length.
// A fault that would not end a quarter of `every` before the run's end is
// left out, so the last samples see the network whole again.
func schedule(total, every, length time.Duration) ([]slot, error) {
	if every <= 0 || length <= 0 || length >= every {
		return nil, fmt.Errorf("fault period %s and length %s: need 0 < length < period", every, length)
	}
	var s []slot
	for i := 0; ; i++ {
		at := every/2 + time.Duration(i)*every
		if at+length > total-every/4 {
			return s, nil
		}
		s = append(s, slot{At: at, Length: length, Kind: rotation[i%len(rotation)]})
	}
}

// defaultPeriod is the fault period for a run of total when none is
// given: total/27, at least 20 s, so that with faults lasting half of it
// each of the two thirds that are judged (flat.go) sees every fault of
// the rotation at least once.
func defaultPeriod(total time.Duration) time.Duration {
	return max(total/27, 20*time.Second).Round(time.Second)
}
