package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pathSVG serves a target's current path as a standalone SVG.
func (h *handler) pathSVG(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, ok := h.src.Target(name)
	if !ok {
		h.fail(w, http.StatusNotFound, fmt.Sprintf("Unknown target %q.", name))
		return
	}
	h.svg(w, pathSpec(t, h.targetURL(name)), "no-cache")
}

// changeSVG serves one change of a target as a standalone SVG. A change
// never changes, so it may be cached.
func (h *handler) changeSVG(w http.ResponseWriter, r *http.Request) {
	name, file := r.PathValue("name"), r.PathValue("file")
	if _, ok := h.src.Target(name); !ok {
		h.fail(w, http.StatusNotFound, fmt.Sprintf("Unknown target %q.", name))
		return
	}
	digits, isSVG := strings.CutSuffix(file, ".svg")
	id, err := strconv.ParseUint(digits, 10, 64)
	if !isSVG || err != nil || id == 0 {
		h.fail(w, http.StatusNotFound, fmt.Sprintf("No such change diagram %q: want <id>.svg.", file))
		return
	}
	if h.hist == nil {
		h.fail(w, http.StatusServiceUnavailable, "History storage is disabled (--storage.path is empty).")
		return
	}
	// The store has no lookup by ID; a target's changes are few (bounded
	// by the history's retention and cap), so all are listed.
	changes, err := h.hist.Changes(name, time.Time{}, math.MaxInt32)
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "Cannot read the path history: "+err.Error())
		return
	}
	for _, c := range changes {
		if c.ID == id {
			link := fmt.Sprintf("%s#change-%d", h.targetURL(name), id)
			h.svg(w, changeSpec(c, link), "private, max-age=3600")
			return
		}
	}
	h.fail(w, http.StatusNotFound, fmt.Sprintf("Target %q has no change %d.", name, id))
}
