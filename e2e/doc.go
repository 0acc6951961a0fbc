// Package e2e holds the end-to-end tests of traceroute_exporter. They build
// real networks of Linux routers in network namespaces (addresses only from
// 198.18.0.0/15 and 2001:db8::/32), run the built binary inside them and
// read /metrics over HTTP. They need root and the tools the README's test
// command installs; under CI a missing one fails the run.
package e2e
