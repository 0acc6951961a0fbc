// Package alerts ships the Prometheus alerting rules for
// traceroute_exporter (traceroute.rules.yml). Its tests run `promtool check
// rules` and the `promtool test rules` unit tests under tests/.
package alerts
