package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/ir"
)

// bin is the launcher, built once by TestMain and run as a process, the
// way a pod runs it.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-exec-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "sluice-exec")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build sluice-exec: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pipeline parses a pipeline file and returns the spec of each step, by
// name, as an adapter would make them.
func pipeline(t *testing.T, yaml string) map[string]string {
	t.Helper()
	p, err := ir.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse pipeline: %v", err)
	}
	specs := map[string]string{}
	for _, s := range p.Spec.Steps {
		b64, err := (&launch.Spec{Pipeline: p.Metadata.Name, Step: s}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		specs[s.Name] = b64
	}
	return specs
}

// result is one run of the launcher.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// launcher runs the binary with args and the environment env (nil: the
// test's own, less the launcher's variables).
func launcher(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if env == nil {
		cmd.Env = testEnv()
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run sluice-exec: %v", err)
	}
	return r
}

func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, launch.SpecEnv+"=") && !strings.HasPrefix(kv, launch.CacheEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// storeURL makes an empty filesystem store and returns its file:// URL.
func storeURL(t *testing.T) (string, *cache.FSStore) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	s, err := cache.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(dir), s
}

func entries(t *testing.T, s cache.Store) []*cache.Entry {
	t.Helper()
	var es []*cache.Entry
	if err := s.ListEntries(context.Background(), func(e *cache.Entry) error { es = append(es, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readDir returns the files of dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, de := range des {
		m[de.Name()] = readFile(t, filepath.Join(dir, de.Name()))
	}
	return m
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (err %v), want nothing written", path, err)
	}
}

// ownError returns the launcher's error line, or "".
func ownError(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "sluice-exec: error:") {
			return l
		}
	}
	return ""
}

// alive reports whether pid is a process that is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
