package web

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/traceroute-exporter/traceroute_exporter/api"
)

// row is one target in the targets table.
type row struct {
	Name, URL      string
	Status         badge
	Hops           string
	RTT, Loss      string
	Changes        uint64
	LastChange     string // empty when the target never changed path
	LastChangeISO  string
	LastChangeAgo  string
	Verdict        badge
	lastChangeTime time.Time
}

// sortLink is a column header's sort link.
type sortLink struct {
	URL    string
	Active bool
}

// indexData is what index.html gets.
type indexData struct {
	Rows         []row
	ByName       sortLink
	ByChange     sortLink
	SortedBy     string
	HistoryState string
}

// index serves the targets table.
func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	var rows []row
	for _, t := range h.src.Targets() {
		rows = append(rows, h.row(t, now))
	}
	byChange := r.URL.Query().Get("sort") == "change"
	sortRows(rows, byChange)
	data := indexData{
		Rows:     rows,
		ByName:   sortLink{URL: h.prefix + "/?sort=name", Active: !byChange},
		ByChange: sortLink{URL: h.prefix + "/?sort=change", Active: byChange},
		SortedBy: "name",
	}
	if byChange {
		data.SortedBy = "last change, newest first"
	}
	if h.hist == nil {
		data.HistoryState = "History storage is disabled: the target pages show the current path only."
	}
	h.page(w, http.StatusOK, "index.html", "Targets", data)
}

// row is t's line in the table.
func (h *handler) row(t api.Target, now time.Time) row {
	out := row{Name: t.Name, URL: h.targetPath(t.Name), Status: targetStatus(t), Hops: dash,
		RTT: dash, Loss: dash, Changes: t.PathChanges}
	if t.Observed {
		out.Hops = strconv.Itoa(t.Hops)
		out.RTT, out.Loss = msPtr(t.DestRTTSeconds), pctPtr(t.DestLossRatio)
	}
	if c := t.LastChange; c != nil {
		out.LastChange, out.LastChangeISO, out.LastChangeAgo = stamp(c.Time), iso(c.Time), ago(now, c.Time)
		out.Verdict, out.lastChangeTime = verdictBadge(c.Verdict), c.Time
	}
	return out
}

// sortRows sorts by name, or by last change (newest first, targets that
// never changed last, ties by name).
func sortRows(rows []row, byChange bool) {
	slices.SortStableFunc(rows, func(a, b row) int {
		if byChange {
			if c := b.lastChangeTime.Compare(a.lastChangeTime); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Name, b.Name)
	})
}
