package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := sluice(t, "version")
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "version:  dev\n") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("version: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = sluice(t, "version", "-o", "json")
	var got versionInfo
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("version -o json: exit code %d, %v:\n%s", code, err, stdout)
	}
	if got.Version == "" || got.GoVersion == "" || got.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version -o json = %+v", got)
	}
}

func TestNewVersionInfo(t *testing.T) {
	gov, platform := runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef"},
		{Key: "vcs.time", Value: "2025-11-22T05:17:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name      string
		ldVersion string
		bi        *debug.BuildInfo
		want      versionInfo
	}{
		{"no build info", "dev", nil, versionInfo{Version: "dev", GoVersion: gov, Platform: platform}},
		{"local build", "dev", &debug.BuildInfo{GoVersion: "go1.26.4", Main: debug.Module{Version: "(devel)"}},
			versionInfo{Version: "dev", GoVersion: "go1.26.4", Platform: platform}},
		{"go install @version", "dev", &debug.BuildInfo{GoVersion: "go1.26.4", Main: debug.Module{Version: "v0.3.0"}},
			versionInfo{Version: "v0.3.0", GoVersion: "go1.26.4", Platform: platform}},
		{"ldflags and VCS", "v1.0.0", &debug.BuildInfo{GoVersion: "go1.26.4", Main: debug.Module{Version: "v0.0.0-x"}, Settings: vcs},
			versionInfo{Version: "v1.0.0", Revision: "0123456789abcdef", Time: "2025-11-22T05:17:00Z", Modified: true, GoVersion: "go1.26.4", Platform: platform}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, newVersionInfo(tt.ldVersion, tt.bi)); diff != "" {
				t.Errorf("newVersionInfo (-want +got):\n%s", diff)
			}
		})
	}
}
