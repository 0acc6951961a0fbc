package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	gbgp "github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/traceroute-exporter/traceroute_exporter/config"
)

// connectRetry is how long the speaker waits between attempts to connect
// to a neighbor that is not passive (gobgp's default is 120 s).
const connectRetry = 10

// Session is one neighbor's session as last seen.
type Session struct {
	// Neighbor is the neighbor's address.
	Neighbor netip.Addr
	// Up tells whether the session is established.
	Up bool
	// Received counts the routes received and kept, by AFI ("ipv4",
	// "ipv6").
	Received map[string]uint64
}

// Speaker is a passive BGP speaker: it peers with the configured
// neighbors over IPv4 and IPv6 unicast, keeps the best route of every
// prefix received in its Table and never announces a route (every
// export is rejected). Its neighbors follow the configuration without
// the others' sessions being reset.
type Speaker struct {
	srv    *server.BgpServer
	table  *Table
	logger log.Logger
	now    func() time.Time
	cancel context.CancelFunc
	global global

	mu        sync.Mutex
	neighbors map[netip.Addr]config.Neighbor
	up        sync.Map // netip.Addr -> bool: established when last seen
}

// global is the part of the configuration that takes a restart of the
// speaker to change.
type global struct {
	as     uint32
	id     netip.Addr
	listen netip.Addr
	port   int
}

func globalOf(c *config.BGP) global {
	return global{as: c.LocalAS, id: c.RouterID, listen: c.ListenAddress, port: c.ListenPort}
}

// SameGlobal tells whether two configurations share the settings that
// only a restart of the speaker changes (AS, router ID, listener); when
// they do, Apply changes the neighbors in place.
func SameGlobal(a, b *config.BGP) bool { return globalOf(a) == globalOf(b) }

// Start starts a speaker with cfg's neighbors; its best routes go into
// table.
func Start(cfg *config.BGP, table *Table, logger log.Logger) (*Speaker, error) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn) // gobgp is chatty at info
	srv := server.NewBgpServer(server.LoggerOption(slog.New(slgk.NewGoKitHandler(log.With(logger, "component", "gobgp"), &lv)), &lv))
	go srv.Serve()
	s := &Speaker{srv: srv, table: table, logger: logger, now: time.Now, global: globalOf(cfg), neighbors: map[netip.Addr]config.Neighbor{}}
	g := &api.Global{Asn: cfg.LocalAS, RouterId: cfg.RouterID.String(), ListenPort: int32(cfg.ListenPort)}
	if cfg.ListenAddress.IsValid() {
		g.ListenAddresses = []string{cfg.ListenAddress.String()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	fail := func(what string, err error) (*Speaker, error) {
		cancel()
		srv.Stop()
		return nil, fmt.Errorf("bgp: %s: %w", what, err)
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: g}); err != nil {
		return fail("start", err)
	}
	// Never announce: every route to every neighbor is rejected.
	if err := srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: api.PolicyDirection_POLICY_DIRECTION_EXPORT, DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT}}); err != nil {
		return fail("export policy", err)
	}
	if err := srv.WatchEvent(ctx, server.WatchEventMessageCallbacks{OnBestPath: s.onBest, OnPeerUpdate: s.onPeer},
		server.WatchBestPath(true), server.WatchPeer()); err != nil {
		return fail("watch", err)
	}
	if err := s.Apply(cfg); err != nil {
		return fail("neighbors", err)
	}
	level.Info(logger).Log("msg", "BGP speaker started", "local_as", cfg.LocalAS, "router_id", cfg.RouterID, "listen_port", cfg.ListenPort, "neighbors", len(cfg.Neighbors))
	return s, nil
}

// Apply adds the neighbors of cfg the speaker does not have, removes
// those cfg no longer has, and re-adds those whose settings changed;
// the sessions of the others are untouched. cfg's global settings are
// ignored (see SameGlobal).
func (s *Speaker) Apply(cfg *config.BGP) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := context.Background()
	want := map[netip.Addr]config.Neighbor{}
	for _, n := range cfg.Neighbors {
		want[n.Address] = n
	}
	for a, old := range s.neighbors {
		if n, ok := want[a]; ok && n == old {
			continue
		}
		if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a.String()}); err != nil {
			return fmt.Errorf("remove neighbor %s: %w", a, err)
		}
		delete(s.neighbors, a)
		level.Info(s.logger).Log("msg", "BGP neighbor removed", "neighbor", a)
	}
	for a, n := range want {
		if _, ok := s.neighbors[a]; ok {
			continue
		}
		if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerOf(n)}); err != nil {
			return fmt.Errorf("add neighbor %s: %w", a, err)
		}
		s.neighbors[a] = n
		level.Info(s.logger).Log("msg", "BGP neighbor added", "neighbor", a, "peer_as", n.PeerAS, "passive", n.Passive)
	}
	return nil
}

// peerOf is a neighbor's gobgp configuration: IPv4 and IPv6 unicast.
func peerOf(n config.Neighbor) *api.Peer {
	fam := func(afi api.Family_Afi) *api.AfiSafi {
		return &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}}
	}
	return &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: n.Address.String(), PeerAsn: n.PeerAS, AuthPassword: n.Password},
		Transport: &api.Transport{PassiveMode: n.Passive, RemotePort: uint32(n.Port)},
		Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: connectRetry}},
		AfiSafis:  []*api.AfiSafi{fam(api.Family_AFI_IP), fam(api.Family_AFI_IP6)},
	}
}

// onBest folds best-path changes into the table.
func (s *Speaker) onBest(paths []*apiutil.Path, at time.Time) {
	if at.IsZero() {
		at = s.now()
	}
	for _, p := range paths {
		if prefix, r, ok := fromPath(p); ok {
			s.table.Update(prefix, r, at)
		}
	}
}

// onPeer logs sessions going up and down; a neighbor going down only
// withdraws its routes (gobgp reports those as best-path changes).
func (s *Speaker) onPeer(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
	if ev.Type != apiutil.PEER_EVENT_STATE {
		return
	}
	st := ev.Peer.State
	up := st.SessionState == gbgp.BGP_FSM_ESTABLISHED
	was, _ := s.up.Swap(st.NeighborAddress, up)
	switch {
	case up && was != true:
		level.Info(s.logger).Log("msg", "BGP session established", "neighbor", st.NeighborAddress, "peer_as", st.PeerASN)
	case !up && was == true:
		level.Warn(s.logger).Log("msg", "BGP session down; its routes are withdrawn, probing goes on", "neighbor", st.NeighborAddress,
			"peer_as", st.PeerASN, "reason", st.DisconnectReason.String(), "detail", st.DisconnectMessage)
	}
}

// Sessions lists the configured neighbors' sessions, by address.
func (s *Speaker) Sessions() []Session {
	var out []Session
	err := s.srv.ListPeer(context.Background(), &api.ListPeerRequest{}, func(p *api.Peer) {
		if p.State == nil {
			return
		}
		a, err := netip.ParseAddr(p.State.NeighborAddress)
		if err != nil {
			return
		}
		ss := Session{Neighbor: a, Up: p.State.SessionState == api.PeerState_SESSION_STATE_ESTABLISHED, Received: map[string]uint64{"ipv4": 0, "ipv6": 0}}
		for _, af := range p.AfiSafis {
			if af.State == nil || af.State.Family == nil || af.State.Family.Safi != api.Family_SAFI_UNICAST {
				continue
			}
			switch af.State.Family.Afi {
			case api.Family_AFI_IP:
				ss.Received["ipv4"] = af.State.Accepted
			case api.Family_AFI_IP6:
				ss.Received["ipv6"] = af.State.Accepted
			}
		}
		out = append(out, ss)
	})
	if err != nil {
		level.Debug(s.logger).Log("msg", "Cannot list BGP neighbors", "err", err)
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Neighbor.Compare(b.Neighbor) })
	return out
}

// Stop closes every session, stops the speaker and withdraws its routes
// from the table.
func (s *Speaker) Stop() {
	s.cancel()
	s.srv.Stop()
	s.table.Clear(s.now())
}
