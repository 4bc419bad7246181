package main

import (
	"fmt"
	"io"
	"runtime"
)

// version is the release, set when building one:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/sluice-exec
var version = "dev"

func versionCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError("version: takes no arguments")
	}
	fmt.Fprintf(stdout, "sluice-exec %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
