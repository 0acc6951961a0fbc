module github.com/traceroute-exporter/traceroute_exporter

go 1.26.8

require (
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/go-kit/log v0.2.1 // indirect
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
