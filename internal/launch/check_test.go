package launch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheckAgreesWithRun: Check misses before the step ran, and after Run
// it hits with the texts Run wrote, without running the command again.
func TestCheckAgreesWithRun(t *testing.T) {
	dir := t.TempDir()
	store := "file://" + filepath.Join(dir, "store")
	marker := filepath.Join(dir, "ran")
	steps := MustParse(t, `
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: p}
spec:
  params: [{name: n, type: int, default: 3}]
  defaults: {image: busybox:1.36}
  steps:
    - name: s
      command: [sh, -c, 'echo x >> `+marker+`; echo "v=${{ params.n }}" > ${{ outputs.params.v }}; head -c 5000 /dev/zero | tr "\0" a > ${{ outputs.params.big }}; seq 3 > ${{ outputs.artifacts.f }}']
      outputs: {params: [{name: v}, {name: big}], artifacts: [{name: f}]}
`)
	st := steps["s"]
	b64, err := (&Spec{Pipeline: "p", Step: st}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	args := func(n string) []string {
		return []string{"--spec-b64", b64, "--cache", store, "--in", "params.n=" + n, "--out-dir", filepath.Join(dir, "out")}
	}
	check := func(n string) *Response {
		t.Helper()
		req, err := ParseRunArgs(args(n), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Check(context.Background(), req)
		if err != nil {
			t.Fatalf("check: %v", err)
		}
		return resp
	}
	if resp := check("3"); resp.Cached || len(resp.Outputs) > 0 {
		t.Fatalf("check before any run: %+v, want a miss", resp)
	}
	req, err := ParseRunArgs(args("3"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	req.Environ = os.Environ()
	ran, err := Run(context.Background(), req)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	hit := check("3")
	if !hit.Cached || hit.Key != ran.Key {
		t.Fatalf("check after the run: cached %v key %s, want a hit on %s", hit.Cached, hit.Key, ran.Key)
	}
	if diff := cmp.Diff(ran.Outputs, hit.Outputs); diff != "" {
		t.Errorf("outputs of the hit differ from the run's (-run +check):\n%s", diff)
	}
	if !IsValueRef(hit.Outputs["params.big"]) {
		t.Errorf("params.big = %.40q, want a value ref (longer than the inline bound)", hit.Outputs["params.big"])
	}
	if b, _ := os.ReadFile(marker); strings.Count(string(b), "x") != 1 {
		t.Errorf("the command ran %d times, want once", strings.Count(string(b), "x"))
	}
	req, err = ParseRunArgs(args("3"), func(k string) string {
		if k == "SLUICE_CACHE_VERIFY" {
			return "true"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := Check(context.Background(), req); err != nil || resp.Cached {
		t.Errorf("check in verify mode: %+v, %v; want a miss (the step must run to be compared)", resp, err)
	}
	if other := check("4"); other.Cached {
		t.Errorf("check with another parameter value hit %s", other.Key)
	}
}
