package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterCase is one cluster target with its fake cluster, and what a
// run of its test pipeline shows: submit, status and logs behave the
// same on every target.
type clusterCase struct {
	target string
	src    string   // the pipeline
	flags  []string // the compile flags it needs
	run    string   // the run's name in namespace ml
	// cached is a step that is a cache hit, failed the step that fails
	// when the run does.
	cached, failed string
	// start plays the engine: a submitted run succeeds (ok) or fails, or
	// with hold never ends. stopped says whether the run was asked to
	// stop.
	start    func(t *testing.T, ok, hold bool) (stopped func() bool)
	stopHint string // the engine's own command, as the detach hint has it
}

func clusterCases() []clusterCase {
	return []clusterCase{
		{target: "argo", src: argoPipeline, flags: argoCacheFlags, run: "cli-x7k2p", cached: "gen", failed: "total",
			start: startArgo, stopHint: "argo stop cli-x7k2p -n ml"},
		{target: "tekton", src: tektonPipeline, flags: tektonCacheFlags, run: "hello-x7k2p", cached: "greet", failed: "shout",
			start: startTekton, stopHint: "tkn pipelinerun cancel hello-x7k2p -n ml"},
	}
}

func (c clusterCase) pipeline() string { return strings.TrimSuffix(c.run, "-x7k2p") }

func (c clusterCase) submit(t *testing.T, args ...string) []string {
	return append(append([]string{"submit", "-t", c.target, pipelineFile(t, c.src)}, c.flags...), args...)
}

// TestSubmitWait: the progress table with the cached step, the steps'
// logs, JUnit, and the run's result as the exit code.
func TestSubmitWait(t *testing.T) {
	for _, c := range clusterCases() {
		for _, ok := range []bool{true, false} {
			state, want := "Succeeded", exitOK
			if !ok {
				state, want = "Failed", exitFailure
			}
			t.Run(c.target+"/"+state, func(t *testing.T) {
				c.start(t, ok, false)
				junit := filepath.Join(t.TempDir(), "report.xml")
				code, stdout, stderr := sluice(t, c.submit(t, "-n", "ml", "--wait", "--logs", "--junit", junit)...)
				if code != want {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
				}
				if !strings.Contains(stderr, "submitted ml/"+c.run) {
					t.Errorf("stderr does not name the run:\n%s", stderr)
				}
				for _, s := range []string{c.cached, "Cached", c.failed, state, c.pipeline() + ": " + state, "[" + c.cached + "] fake logs\n"} {
					if !strings.Contains(stdout, s) {
						t.Errorf("stdout lacks %q:\n%s", s, stdout)
					}
				}
				if strings.Contains(stdout, "when") {
					t.Errorf("a condition shows as a step:\n%s", stdout)
				}
				data, err := os.ReadFile(junit)
				if err != nil {
					t.Fatal(err)
				}
				var suites struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				}
				if err := xml.Unmarshal(data, &suites); err != nil || suites.Tests != 2 || (suites.Failures == 0) != ok {
					t.Errorf("junit: %v, %d tests, %d failures\n%s", err, suites.Tests, suites.Failures, data)
				}
				if !ok && !strings.Contains(stderr, "step "+c.failed+" failed: ") {
					t.Errorf("stderr does not say which step failed:\n%s", stderr)
				}
			})
		}
	}
}

func TestSubmitNoWait(t *testing.T) {
	for _, c := range clusterCases() {
		t.Run(c.target, func(t *testing.T) {
			c.start(t, true, true)
			code, stdout, stderr := sluice(t, c.submit(t)...)
			if code != exitOK || stdout != c.run+"\n" {
				t.Errorf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
			}
		})
	}
}

// TestSubmitInterrupt: Ctrl-C leaves the run going and says how to
// follow or stop it, or with --cancel-on-interrupt stops it (through a
// conflict on the way).
func TestSubmitInterrupt(t *testing.T) {
	for _, c := range clusterCases() {
		for _, cancelRun := range []bool{false, true} {
			t.Run(c.target+"/"+map[bool]string{false: "detach", true: "cancel"}[cancelRun], func(t *testing.T) {
				stopped := c.start(t, true, true)
				args := c.submit(t, "--wait")
				if cancelRun {
					args = append(args, "--cancel-on-interrupt")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				var out, errOut strings.Builder
				code := execute(ctx, args, &out, &errOut)
				if code != exitStopped {
					t.Fatalf("exit %d, want %d\n%s", code, exitStopped, errOut.String())
				}
				if cancelRun {
					if !stopped() || !strings.Contains(errOut.String(), "stopping run ml/"+c.run) {
						t.Errorf("stopped %v; stderr:\n%s", stopped(), errOut.String())
					}
					return
				}
				if stopped() {
					t.Errorf("detached, yet the run was stopped")
				}
				for _, s := range []string{"sluice status " + c.run + " -t " + c.target + " -n ml --wait", c.stopHint} {
					if !strings.Contains(errOut.String(), s) {
						t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
					}
				}
			})
		}
	}
}

// TestStatusAndLogs: a run's status and logs by its name, with -t and
// without (the run is looked up on each target in turn).
func TestStatusAndLogs(t *testing.T) {
	for _, c := range clusterCases() {
		t.Run(c.target, func(t *testing.T) {
			c.start(t, false, false)
			if code, _, stderr := sluice(t, c.submit(t, "--wait")...); code != exitFailure {
				t.Fatalf("submit: exit %d: %s", code, stderr)
			}
			for _, args := range [][]string{{"status", c.run, "-t", c.target, "-n", "ml"}, {"status", c.run}} {
				code, stdout, stderr := sluice(t, args...)
				if code != exitFailure {
					t.Errorf("%s: exit %d: %s", args, code, stderr)
				}
				for _, s := range []string{"ml/" + c.run + " (pipeline " + c.pipeline() + "): Failed", c.cached, "Cached", c.failed, "Failed", "code 1"} {
					if !strings.Contains(stdout, s) {
						t.Errorf("%s lacks %q:\n%s", args, s, stdout)
					}
				}
			}
			code, stdout, _ := sluice(t, "status", c.run, "-o", "json")
			var sum struct {
				Status, Backend string
				Steps           []struct{ Name, State string }
			}
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Status != "Failed" || sum.Backend != c.target || len(sum.Steps) != 2 {
				t.Errorf("status -o json: exit %d, %v: %s", code, err, stdout)
			}
			code, _, stderr := sluice(t, "status", "nope")
			if code != exitFailure || !strings.Contains(stderr, `run "nope": not on argo or tekton`) {
				t.Errorf("status of no run: exit %d: %s", code, stderr)
			}

			code, stdout, stderr = sluice(t, "logs", c.run, c.cached, "--runs-dir", t.TempDir())
			if code != exitOK || stdout != "fake logs" {
				t.Errorf("logs of a step: exit %d, %q, %s", code, stdout, stderr)
			}
			code, stdout, _ = sluice(t, "logs", "-t", c.target, c.run)
			if code != exitOK || !strings.Contains(stdout, "==> "+c.cached+" (Cached) <==\nfake logs") || !strings.Contains(stdout, "==> "+c.failed+" (Failed) <==") {
				t.Errorf("logs of a run: exit %d:\n%s", code, stdout)
			}
		})
	}
}
