package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cache/s3test"
)

const runPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: cli}
spec:
  params: [{name: n, type: int, default: 3}, {name: fail, type: bool, default: false}]
  defaults: {image: busybox:1.36}
  steps:
    - name: gen
      command: [sh, -c, 'seq 1 ${{ params.n }} > ${{ outputs.artifacts.nums }}']
      outputs: {artifacts: [{name: nums}]}
    - name: total
      command: [sh, -c, 'awk "{s+=\$1} END {print s}" ${{ steps.gen.outputs.artifacts.nums }} > ${{ outputs.params.sum }}; [ ${{ params.fail }} = false ]']
      outputs: {params: [{name: sum, type: int}]}
`

// runDirs gives a test its own pipeline file, cache and runs directories.
func runDirs(t *testing.T) (file string, flags []string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(file, []byte(runPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, []string{"--cache-dir", filepath.Join(dir, "cache"), "--runs-dir", filepath.Join(dir, "runs")}
}

func TestRunCachesAndReports(t *testing.T) {
	file, flags := runDirs(t)
	code, stdout, stderr := sluice(t, append([]string{"run", file}, flags...)...)
	if code != exitOK {
		t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, stdout, stderr = sluice(t, append([]string{"run", file, "-o", "json", "--junit", junit}, flags...)...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	var sum struct {
		Status string
		Steps  []struct {
			Name, State string
			Outputs     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if sum.Status != "Succeeded" || len(sum.Steps) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	for _, s := range sum.Steps {
		if s.State != "Cached" {
			t.Errorf("second run: %s is %s, want Cached", s.Name, s.State)
		}
	}
	if got := sum.Steps[1].Outputs["sum"]; got != "6" {
		t.Errorf("total.sum = %q, want 6", got)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Tests != 2 {
		t.Errorf("junit: %v %+v\n%s", err, suites, b)
	}
}

func TestRunFailureExitsOne(t *testing.T) {
	file, flags := runDirs(t)
	code, _, stderr := sluice(t, append([]string{"run", file, "-p", "fail=true"}, flags...)...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, exitFailure, stderr)
	}
	if !strings.Contains(stderr, "step total failed: exit code 1") {
		t.Errorf("stderr does not name the failed step:\n%s", stderr)
	}
	// The log of the failed step is there to read.
	code, _, stderr = sluice(t, "logs", "last", "total", flags[2], flags[3])
	if code != exitOK {
		t.Errorf("logs: exit %d\n%s", code, stderr)
	}
}

func TestRunUsageErrors(t *testing.T) {
	file, flags := runDirs(t)
	for _, args := range [][]string{
		{"run", file, "-p", "novalue"},
		{"run", file, "--executor", "vm"},
		{"run", file, "-o", "yaml"},
	} {
		if code, _, stderr := sluice(t, append(args, flags...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
	// A bad parameter value is the pipeline's problem, not the command line's.
	if code, _, stderr := sluice(t, append([]string{"run", file, "-p", "n=many"}, flags...)...); code != exitFailure || !strings.Contains(stderr, `parameter "n": "many" is not an int`) {
		t.Errorf("-p n=many: exit %d\n%s", code, stderr)
	}
}

func TestCacheExplainNamesTheChange(t *testing.T) {
	file, flags := runDirs(t)
	sluice(t, append([]string{"run", file}, flags...)...)
	sluice(t, append([]string{"run", file, "-p", "n=4"}, flags...)...)
	code, stdout, stderr := sluice(t, append([]string{"cache", "explain", "gen"}, flags...)...)
	if code != exitOK || !strings.Contains(stdout, "changed: command[2]") {
		t.Errorf("explain gen: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = sluice(t, append([]string{"cache", "explain", "total"}, flags...)...)
	if code != exitOK || !strings.Contains(stdout, "changed: artifacts.steps.gen.outputs.artifacts.nums") {
		t.Errorf("explain total: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = sluice(t, append([]string{"cache", "verify"}, flags[0], flags[1])...)
	if code != exitOK || !strings.Contains(stdout, "0 problems") {
		t.Errorf("verify: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = sluice(t, append([]string{"cache", "gc", "--older-than", "0s"}, flags[0], flags[1])...)
	if code != exitOK || !strings.Contains(stdout, "removed 4 entries") {
		t.Errorf("gc: exit %d\n%s", code, stdout)
	}
}

// TestRunOnS3 runs against a real S3 server, then reruns from a fresh
// machine directory (new runs dir, nothing local) against the same
// bucket: every step is a hit.
func TestRunOnS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	url := srv.URL(t, bucket, "sluice")
	file, _ := runDirs(t)
	for i, want := range []string{"Succeeded", "Cached"} {
		runs := filepath.Join(t.TempDir(), "runs")
		code, stdout, stderr := sluice(t, "run", file, "--cache", url, "--runs-dir", runs, "-o", "json")
		if code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr)
		}
		var sum struct {
			Steps []struct{ Name, State string }
		}
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatal(err)
		}
		for _, s := range sum.Steps {
			if s.State != want {
				t.Errorf("run %d: %s is %s, want %s", i, s.Name, s.State, want)
			}
		}
	}
}
