package sources

import (
	"context"
	"errors"

	"github.com/go-kit/log"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// New returns the Source a configured source describes; a bgp source
// gets no table (use NewWith).
func New(c config.TargetSource, logger log.Logger) Source {
	return NewWith(c, logger, nil)
}

// NewWith returns the Source a configured source describes; a bgp source
// reads routes.
func NewWith(c config.TargetSource, logger log.Logger, routes Routes) Source {
	switch {
	case c.FileSD != nil:
		return &FileSD{Config: *c.FileSD, Logger: logger}
	case c.HTTPSD != nil:
		return &HTTPSD{Config: *c.HTTPSD, Logger: logger}
	case c.DNS != nil:
		return &DNS{Config: *c.DNS, Logger: logger}
	case c.Flows != nil:
		return &Flows{Config: *c.Flows, Logger: logger}
	case c.BGP != nil:
		return &BGP{Config: *c.BGP, Family: c.Family(), Table: routes, Logger: logger}
	}
	return failing{errors.New("source of an unknown kind")}
}

// failing is a source that only reports its error.
type failing struct{ err error }

func (f failing) Run(_ context.Context, report func([]Item, error)) { report(nil, f.err) }
