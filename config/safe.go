package config

import (
	"sync"
	"time"
)

// Safe holds the running configuration. A reload swaps it only after the
// new file parsed and validated completely; a bad file leaves the running
// configuration in place and marks the reload as failed.
type Safe struct {
	mu          sync.RWMutex
	cfg         *Config
	ok          bool
	lastSuccess time.Time
}

// Reload loads path; on success it becomes the running configuration.
func (s *Safe) Reload(path string, now time.Time) (*Config, error) {
	c, err := Load(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.ok = false
		return nil, err
	}
	s.cfg, s.ok, s.lastSuccess = c, true, now
	return c, nil
}

// Get returns the running configuration (nil before the first success).
func (s *Safe) Get() *Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Status reports whether the last reload succeeded and when one last did.
func (s *Safe) Status() (ok bool, lastSuccess time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ok, s.lastSuccess
}
