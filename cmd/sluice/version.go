package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release, set when building one:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/sluice
var version = "dev"

type versionOptions struct {
	output string
	stdout io.Writer
}

func newVersionCmd() *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of sluice",
		Long: `Print the version of sluice, the VCS revision it was built from (when the build
recorded one) and the Go version that built it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout = cmd.OutOrStdout()
			return runVersion(cmd.Context(), opts)
		},
	}
	addOutputFlag(cmd, &opts.output, formatText, formatJSON, formatYAML)
	return cmd
}

// versionInfo describes the running binary.
type versionInfo struct {
	Version   string `json:"version" yaml:"version"`
	Revision  string `json:"revision,omitempty" yaml:"revision,omitempty"`
	Time      string `json:"time,omitempty" yaml:"time,omitempty"`
	Modified  bool   `json:"modified,omitempty" yaml:"modified,omitempty"`
	GoVersion string `json:"goVersion" yaml:"goVersion"`
	Platform  string `json:"platform" yaml:"platform"`
}

func runVersion(_ context.Context, opts *versionOptions) error {
	bi, _ := debug.ReadBuildInfo()
	info := newVersionInfo(version, bi)
	if write, ok := structured[opts.output]; ok {
		return write(opts.stdout, info)
	}
	fmt.Fprintf(opts.stdout, "version:  %s\n", info.Version)
	if info.Revision != "" {
		mod := ""
		if info.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(opts.stdout, "revision: %s%s\n", info.Revision, mod)
	}
	if info.Time != "" {
		fmt.Fprintf(opts.stdout, "time:     %s\n", info.Time)
	}
	fmt.Fprintf(opts.stdout, "go:       %s %s\n", info.GoVersion, info.Platform)
	return nil
}

// newVersionInfo puts together what the binary knows of itself. The
// version set with -ldflags wins; without it, the module version that
// `go install …@v1.2.3` records; "dev" otherwise.
func newVersionInfo(ldVersion string, bi *debug.BuildInfo) versionInfo {
	info := versionInfo{
		Version:   ldVersion,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi == nil {
		return info
	}
	if v := bi.Main.Version; ldVersion == "dev" && v != "" && v != "(devel)" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}
