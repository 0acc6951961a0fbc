package enrich

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/asn"
	"github.com/traceroute-exporter/traceroute_exporter/history"
	"github.com/traceroute-exporter/traceroute_exporter/pathstate"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeASN maps the third octet of 198.18.x.y to AS 64500+x; 198.18.99.y
// is unknown.
type fakeASN struct{}

func (fakeASN) Lookup(a netip.Addr) (asn.Info, bool) {
	b := a.As4()
	if b[2] == 99 {
		return asn.Info{}, false
	}
	return asn.Info{ASN: 64500 + uint32(b[2]), Org: "Lab"}, true
}

type fakeNames map[netip.Addr]string

func (f fakeNames) Name(a netip.Addr) (string, bool) { n, ok := f[a]; return n, ok }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// snap is a target snapshot with the given path, reached, whose last
// interval ended at end with destination RTT rtt and loss.
func snap(end time.Time, rtt time.Duration, loss float64, hops ...netip.Addr) *pathstate.Snapshot {
	s := &pathstate.Snapshot{Observed: true, Reached: true, Hops: hops,
		Path: pathstate.Path{Hops: len(hops), Addrs: hops}}
	s.PathHash = s.Path.Hash()
	s.Last = pathstate.Interval{End: end, Reached: true,
		Dest: pathstate.Hop{TTL: len(hops), Sent: 10, Replies: 10, Loss: loss, RTT: pathstate.RTT{N: 10, Mean: rtt}}}
	return s
}

func TestASPathSkipsUnknownAndCollapses(t *testing.T) {
	got := ASPathOf([]HopInfo{{ASN: 64500}, {}, {ASN: 64500}, {ASN: 64501}, {ASN: 0}, {ASN: 64502}, {ASN: 64502}})
	if !slices.Equal(got, []uint32{64500, 64501, 64502}) {
		t.Fatalf("AS path %v, want [64500 64501 64502]", got)
	}
	if p := ASPathOf(nil); p == nil || len(p) != 0 {
		t.Fatalf("empty AS path %v, want an empty, non-nil slice", p)
	}
	if asPathHash([]uint32{64500, 64501}) == asPathHash([]uint32{64501, 64500}) || asPathHash(nil) != 0 {
		t.Fatal("AS path hash does not tell orders apart, or is not 0 when empty")
	}
}

func TestUpdateJudgesRecordsAndCountsASPathChanges(t *testing.T) {
	store := history.NewMemory(history.DefaultOptions())
	src := &Sources{ASN: fakeASN{}, Names: fakeNames{ip("198.18.1.2"): "r1.lab"}, Store: store}
	tg := src.NewTarget("dst4")
	empty := &pathstate.Snapshot{}
	oldHops := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.7.2")}
	first := snap(t0, 10*time.Millisecond, 0, oldHops...)
	if ev := tg.Update(empty, first, nil); len(ev) != 0 {
		t.Fatalf("establishing the path produced events %v", ev)
	}
	e := tg.Evidence()
	if e.Hops[0].Name != "r1.lab" || e.Hops[0].ASN != 64501 || !slices.Equal(e.ASPath, []uint32{64501, 64502, 64507}) || e.ASPathChanges != 0 {
		t.Fatalf("after the first interval: %+v", e)
	}
	// A hop of unknown AS, and a silent hop filled in within a known AS,
	// leave the sequence of known ASNs as it is.
	same := snap(t0.Add(time.Minute), 10*time.Millisecond, 0, ip("198.18.1.2"), ip("198.18.99.2"), ip("198.18.2.2"), ip("198.18.7.2"))
	tg.Update(first, same, nil)
	if e := tg.Evidence(); e.ASPathChanges != 0 || !slices.Equal(e.ASPath, []uint32{64501, 64502, 64507}) {
		t.Fatalf("an unknown hop changed the AS path: %v, %d changes", e.ASPath, e.ASPathChanges)
	}
	// A switch to a longer path through AS 64508, slower: worse.
	newHops := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.8.2"), ip("198.18.7.2")}
	after := snap(t0.Add(2*time.Minute), 25*time.Millisecond, 0, newHops...)
	c := pathstate.Change{Time: after.Last.End, Address: ip("198.18.7.2"), Before: first.Path, After: after.Path, BeforeHops: oldHops, AfterHops: newHops}
	events := tg.Update(first, after, []pathstate.Change{c})
	if len(events) != 1 || events[0].Verdict != history.Worse || len(events[0].Reasons) == 0 {
		t.Fatalf("events %+v, want one judged worse with reasons", events)
	}
	e = tg.Evidence()
	if e.Degradations != 1 || e.ASPathChanges != 1 || e.LastChange == nil || e.LastChange.Verdict != history.Worse || e.LastChange.ToHops != 4 {
		t.Fatalf("evidence after the switch: %+v", e)
	}
	cs, err := store.Changes("dst4", time.Time{}, 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("stored changes %v (%v), want 1", cs, err)
	}
	got := cs[0]
	if got.Before.Hops != 3 || got.After.Hops != 4 || got.Verdict != history.Worse || !slices.Equal(got.DiffTTLs, []int{3, 4}) ||
		got.Before.DestRTT != 10*time.Millisecond || got.After.DestRTT != 25*time.Millisecond || got.After.Path[2].ASN != 64508 {
		t.Fatalf("stored change %+v", got)
	}
	paths, _ := store.Paths("dst4")
	if len(paths) != 2 {
		t.Fatalf("%d paths recorded, want the first and the new one", len(paths))
	}
	// After a restart the last change is known again.
	if lc := src.NewTarget("dst4").Evidence().LastChange; lc == nil || lc.ID != got.ID || lc.Verdict != history.Worse {
		t.Fatalf("last change after a restart: %+v, want change %d", lc, got.ID)
	}
}

// failing is a store whose every call fails.
type failing struct{ history.Store }

func (failing) AddChange(history.Change) (uint64, error)         { return 0, errors.New("disk full") }
func (failing) RecordPath(string, history.Path, time.Time) error { return errors.New("disk full") }
func (failing) Changes(string, time.Time, int) ([]history.Change, error) {
	return nil, errors.New("disk full")
}

func TestStoreErrorsAreCountedNotFatal(t *testing.T) {
	src := &Sources{Store: failing{}}
	tg := src.NewTarget("x")
	a := snap(t0, time.Millisecond, 0, ip("198.18.1.2"), ip("198.18.7.2"))
	b := snap(t0.Add(time.Minute), time.Millisecond, 0, ip("198.18.3.2"), ip("198.18.7.2"))
	tg.Update(&pathstate.Snapshot{}, a, nil)
	ev := tg.Update(a, b, []pathstate.Change{{Time: b.Last.End, Before: a.Path, After: b.Path, BeforeHops: a.Hops, AfterHops: b.Hops}})
	if len(ev) != 1 || src.StoreErrors() != 4 {
		t.Fatalf("events %d, store errors %d; want the change judged and 4 failed store calls counted", len(ev), src.StoreErrors())
	}
}

// TestJudgementWaitsForSilentHops: a change confirmed while rate-limited
// routers had not answered yet (hops 1, 2 and 5 unknown) is judged once
// they answered, an interval later: one AS path change, the whole new path
// recorded; a hop that never answers is judged without it after judgeWait.
func TestJudgementWaitsForSilentHops(t *testing.T) {
	store := history.NewMemory(history.DefaultOptions())
	src := &Sources{ASN: fakeASN{}, Store: store}
	tg := src.NewTarget("dst4")
	dst := ip("198.18.7.2")
	oldHops := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.3.2"), ip("198.18.4.2"), dst}
	before := snap(t0, 10*time.Millisecond, 0, oldHops...)
	tg.Update(&pathstate.Snapshot{}, before, nil)
	full := []netip.Addr{ip("198.18.1.2"), ip("198.18.2.2"), ip("198.18.8.2"), ip("198.18.9.2"), ip("198.18.4.2"), dst}
	partial := []netip.Addr{{}, {}, full[2], full[3], {}, dst}
	confirmed := snap(t0.Add(time.Second), 10*time.Millisecond, 0, partial...)
	c := pathstate.Change{Time: confirmed.Last.End, Before: before.Path, After: confirmed.Path, BeforeHops: oldHops, AfterHops: partial}
	if ev := tg.Update(before, confirmed, []pathstate.Change{c}); len(ev) != 0 {
		t.Fatalf("judged %v while hops 1, 2 and 5 were unknown", ev)
	}
	filled := snap(t0.Add(2*time.Second), 10*time.Millisecond, 0, full...)
	filled.Path = confirmed.Path // the identity stays; the silent hops filled in
	ev := tg.Update(confirmed, filled, nil)
	if len(ev) != 1 || ev[0].Verdict != history.Worse {
		t.Fatalf("events %+v, want one judged worse once the path is known", ev)
	}
	e := tg.Evidence()
	if e.ASPathChanges != 1 || e.Degradations != 1 {
		t.Fatalf("AS path changes %d, degradations %d; want 1 and 1", e.ASPathChanges, e.Degradations)
	}
	cs, _ := store.Changes("dst4", time.Time{}, 10)
	if len(cs) != 1 || !slices.Equal(cs[0].After.ASPath, []uint32{64501, 64502, 64508, 64509, 64504, 64507}) ||
		!slices.Equal(cs[0].DiffTTLs, []int{3, 4, 5, 6}) || !cs[0].Time.Equal(c.Time) {
		t.Fatalf("stored change %+v, want the whole new AS path, hops 3-6 differing, at the change's time", cs)
	}
	lc := tg.Evidence().LastChange
	if lc == nil || lc.After != "198.18.1.2 AS64501, 198.18.2.2 AS64502, 198.18.8.2 AS64508, 198.18.9.2 AS64509, 198.18.4.2 AS64504, 198.18.7.2 AS64507 (6 hops, RTT 10.0 ms, loss 0%)" ||
		!strings.HasSuffix(lc.Before, "(5 hops, RTT 10.0 ms, loss 0%)") {
		t.Fatalf("last change summary %+v", lc)
	}
	if tg.Update(filled, filled, nil) != nil || tg.Evidence().ASPathChanges != 1 {
		t.Fatal("a later interval judged again or counted another AS path change")
	}

	// A hop that never answers: judged after judgeWait intervals, and the
	// AS path does not count in the verdict.
	tg2 := src.NewTarget("dst6")
	tg2.Update(&pathstate.Snapshot{}, before, nil)
	gap := []netip.Addr{full[0], full[1], full[2], {}, full[4], dst}
	g := snap(t0.Add(time.Second), 10*time.Millisecond, 0, gap...)
	c2 := pathstate.Change{Time: g.Last.End, Before: before.Path, After: g.Path, BeforeHops: oldHops, AfterHops: gap}
	var judged []Event
	for i := 0; i <= judgeWait && len(judged) == 0; i++ {
		var chs []pathstate.Change
		if i == 0 {
			chs = []pathstate.Change{c2}
		}
		judged = tg2.Update(g, g, chs)
		if len(judged) > 0 && i < judgeWait {
			t.Fatalf("judged after %d intervals, want %d", i, judgeWait)
		}
	}
	if len(judged) != 1 {
		t.Fatal("never judged")
	}
	for _, r := range judged[0].Reasons {
		if strings.Contains(r, "AS path") {
			t.Fatalf("reasons %v use the AS path of a path with an unknown hop", judged[0].Reasons)
		}
	}
}
