package main

import (
	_ "embed"
	"strings"

	"github.com/prometheus/common/version"
)

// versionFile is the release version, used when the build did not set
// one (`make build` sets version, revision, branch and date from git with
// -ldflags; a plain `go build` gets the revision from Go's embedded VCS
// information when it has any).
//
//go:embed VERSION
var versionFile string

func init() {
	if version.Version == "" {
		version.Version = strings.TrimSpace(versionFile)
	}
}
