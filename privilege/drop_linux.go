package privilege

import (
	"fmt"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// Value is one capability, e.g. cap.NET_BIND_SERVICE.
type Value = cap.Value

// NetBindService is the capability to listen on ports below 1024.
const NetBindService = cap.NET_BIND_SERVICE

// Result says what Drop did.
type Result struct {
	// Before and After are the process's capabilities in libcap's text
	// form ("=" for none, e.g. "cap_net_raw=ep").
	Before, After string
	// Bounding reports whether the bounding set was emptied too (it
	// needs CAP_SETPCAP, which a process granted only CAP_NET_RAW lacks;
	// no_new_privs then keeps it from gaining more).
	Bounding bool
}

// Drop leaves the process with only the capabilities keep (effective and
// permitted), on every thread: the inheritable and ambient sets are
// emptied, and the bounding set too when the process may change it. A
// process without capabilities is left as it is.
func Drop(keep ...Value) (Result, error) {
	cur := cap.GetProc()
	var r Result
	r.Before = cur.String()
	empty, err := cur.Cf(cap.NewSet())
	if err != nil {
		return r, fmt.Errorf("reading the process's capabilities: %w", err)
	}
	if empty == 0 {
		r.After = r.Before
		return r, nil
	}
	if err := cap.ResetAmbient(); err != nil {
		return r, fmt.Errorf("clearing the ambient capabilities: %w", err)
	}
	if setpcap, _ := cur.GetFlag(cap.Effective, cap.SETPCAP); setpcap {
		var drop []cap.Value
		for v := cap.Value(0); v < cap.MaxBits(); v++ {
			if !contains(keep, v) {
				drop = append(drop, v)
			}
		}
		if err := cap.DropBound(drop...); err != nil {
			return r, fmt.Errorf("emptying the bounding set: %w", err)
		}
		r.Bounding = true
	}
	next := cap.NewSet()
	var held []cap.Value
	for _, v := range keep {
		if ok, _ := cur.GetFlag(cap.Permitted, v); ok {
			held = append(held, v)
		}
	}
	if err := next.SetFlag(cap.Permitted, true, held...); err != nil {
		return r, err
	}
	if err := next.SetFlag(cap.Effective, true, held...); err != nil {
		return r, err
	}
	if err := next.SetProc(); err != nil {
		return r, fmt.Errorf("setting the process's capabilities to %q: %w", next.String(), err)
	}
	r.After = cap.GetProc().String()
	return r, nil
}

func contains(vs []Value, v Value) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
