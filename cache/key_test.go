package cache_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

// baseComponents returns a fresh Components using every field.
func baseComponents() cache.Components {
	return cache.Components{
		Image:   "ghcr.io/acme/train@sha256:" + fmt.Sprintf("%064x", 7),
		Command: []string{"python", "-m", "train"},
		Args:    []string{"--rows", "100", "--data", "${{ inputs.artifacts.data }}"},
		Env: []cache.EnvVar{
			{Name: "MODE", Value: "fast"},
			{Name: "TOKEN", Secret: "creds/token@3"},
			{Name: "EMPTY"},
		},
		WorkingDir: "/work",
		Outputs: cache.Outputs{
			Params:    []string{"accuracy:number", "rows:integer"},
			Artifacts: []string{"model", "report"},
		},
		Params:    map[string]string{"rows": "100", "lr": "0.1"},
		Artifacts: map[string]cache.Digest{"data": sha256.Sum256([]byte("data")), "cfg": sha256.Sum256([]byte("cfg"))},
		Salt:      "v2",
	}
}

// goldenKey is ComputeKey(baseComponents()). If this test fails, the key
// encoding changed: every cache entry ever written would miss. Bump
// KeyVersion on purpose, then update this value.
const goldenKey = "431db956a8fe63435840f8a89deb433c09e0f256d12165f02f73df858d00ff1a"

func TestComputeKeyGolden(t *testing.T) {
	if got := cache.ComputeKey(baseComponents()).String(); got != goldenKey {
		t.Errorf("ComputeKey(baseComponents()) = %s, want %s; see goldenKey", got, goldenKey)
	}
}

func TestComputeKeyChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *cache.Components)
		want   []string // Diff against baseComponents
	}{
		{"image", func(c *cache.Components) { c.Image = "ghcr.io/acme/train:latest" }, []string{"image"}},
		{"command", func(c *cache.Components) { c.Command[2] = "eval" }, []string{"command[2]"}},
		{"args", func(c *cache.Components) { c.Args[1] = "101" }, []string{"args[1]"}},
		{"args split differently", func(c *cache.Components) { c.Args = []string{"--rows 100", "--data", c.Args[3]} }, []string{"args[0]"}},
		{"arg moved to command", func(c *cache.Components) {
			c.Command = append(c.Command, c.Args[0])
			c.Args = c.Args[1:]
		}, []string{"command[3]", "args[0]"}},
		{"env value", func(c *cache.Components) { c.Env[0].Value = "slow" }, []string{"env.MODE"}},
		{"env added", func(c *cache.Components) { c.Env = append(c.Env, cache.EnvVar{Name: "DEBUG", Value: "1"}) }, []string{"env.DEBUG"}},
		{"env removed", func(c *cache.Components) { c.Env = c.Env[:2] }, []string{"env.EMPTY"}},
		{"env secret version", func(c *cache.Components) { c.Env[1].Secret = "creds/token@4" }, []string{"env.TOKEN"}},
		{"env value becomes secret", func(c *cache.Components) { c.Env[0] = cache.EnvVar{Name: "MODE", Secret: "fast"} }, []string{"env.MODE"}},
		{"env repeated", func(c *cache.Components) { c.Env = append(c.Env, cache.EnvVar{Name: "MODE", Value: "fast"}) }, []string{"env.MODE"}},
		{"workingDir", func(c *cache.Components) { c.WorkingDir = "/" }, []string{"workingDir"}},
		{"output param type", func(c *cache.Components) { c.Outputs.Params[1] = "rows:string" }, []string{"outputs.params"}},
		{"output artifact added", func(c *cache.Components) { c.Outputs.Artifacts = append(c.Outputs.Artifacts, "log") }, []string{"outputs.artifacts"}},
		{"output moved from artifacts to params", func(c *cache.Components) {
			c.Outputs.Params = append(c.Outputs.Params, "model")
			c.Outputs.Artifacts = c.Outputs.Artifacts[1:]
		}, []string{"outputs.params", "outputs.artifacts"}},
		{"param value", func(c *cache.Components) { c.Params["rows"] = "101" }, []string{"params.rows"}},
		{"param added empty", func(c *cache.Components) { c.Params["extra"] = "" }, []string{"params.extra"}},
		{"param removed", func(c *cache.Components) { delete(c.Params, "lr") }, []string{"params.lr"}},
		{"param name and value boundary", func(c *cache.Components) {
			c.Params = map[string]string{"rows1": "00", "lr": "0.1"}
		}, []string{"params.rows", "params.rows1"}},
		{"artifact digest", func(c *cache.Components) { c.Artifacts["data"] = sha256.Sum256([]byte("other")) }, []string{"artifacts.data"}},
		{"artifact renamed", func(c *cache.Components) {
			c.Artifacts["data2"] = c.Artifacts["data"]
			delete(c.Artifacts, "data")
		}, []string{"artifacts.data", "artifacts.data2"}},
		{"salt", func(c *cache.Components) { c.Salt = "v3" }, []string{"salt"}},
		{"salt moved to workingDir", func(c *cache.Components) { c.WorkingDir, c.Salt = c.WorkingDir+c.Salt, "" }, []string{"workingDir", "salt"}},
	}
	base := baseComponents()
	baseKey := cache.ComputeKey(base)
	seen := map[cache.Key]string{baseKey: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseComponents()
			tt.change(&c)
			key := cache.ComputeKey(c)
			if other, ok := seen[key]; ok {
				t.Errorf("key %s equals the key of %q", key, other)
			}
			seen[key] = tt.name
			if diff := cmp.Diff(tt.want, c.Diff(base)); diff != "" {
				t.Errorf("Diff mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeKeySame(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *cache.Components)
	}{
		{"unchanged", func(c *cache.Components) {}},
		{"env order", func(c *cache.Components) { slices.Reverse(c.Env) }},
		{"output order", func(c *cache.Components) {
			slices.Reverse(c.Outputs.Params)
			slices.Reverse(c.Outputs.Artifacts)
		}},
		{"maps rebuilt in another order", func(c *cache.Components) {
			c.Params = map[string]string{"lr": "0.1"}
			c.Params["rows"] = "100"
			c.Artifacts = map[string]cache.Digest{"cfg": c.Artifacts["cfg"], "data": c.Artifacts["data"]}
		}},
	}
	base := baseComponents()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseComponents()
			tt.change(&c)
			if got, want := cache.ComputeKey(c), cache.ComputeKey(base); got != want {
				t.Errorf("ComputeKey = %s, want %s", got, want)
			}
			if diff := c.Diff(base); len(diff) > 0 {
				t.Errorf("Diff = %q, want none", diff)
			}
		})
	}
}

func TestComputeKeyNilIsEmpty(t *testing.T) {
	empty := cache.Components{
		Command:   []string{},
		Args:      []string{},
		Env:       []cache.EnvVar{},
		Outputs:   cache.Outputs{Params: []string{}, Artifacts: []string{}},
		Params:    map[string]string{},
		Artifacts: map[string]cache.Digest{},
	}
	if got, want := cache.ComputeKey(empty), cache.ComputeKey(cache.Components{}); got != want {
		t.Errorf("ComputeKey(empty) = %s, want ComputeKey(zero) = %s", got, want)
	}
	if diff := empty.Diff(cache.Components{}); len(diff) > 0 {
		t.Errorf("Diff = %q, want none", diff)
	}
}

func TestComputeKeyDoesNotModify(t *testing.T) {
	c := baseComponents()
	slices.Reverse(c.Env)
	slices.Reverse(c.Outputs.Params)
	want := baseComponents()
	slices.Reverse(want.Env)
	slices.Reverse(want.Outputs.Params)
	cache.ComputeKey(c)
	c.Diff(baseComponents())
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Components after ComputeKey and Diff mismatch (-want +got):\n%s", diff)
	}
}

func TestParseKey(t *testing.T) {
	k := cache.ComputeKey(baseComponents())
	got, err := cache.ParseKey(k.String())
	if err != nil || got != k {
		t.Errorf("ParseKey(%q) = %s, %v; want %s, nil", k.String(), got, err, k)
	}
	for _, in := range []string{"", "sha256:" + k.String(), k.String()[:10], "Z" + k.String()[1:]} {
		if _, err := cache.ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) succeeded, want an error", in)
		}
	}
}
