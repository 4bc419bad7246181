package store

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/storetest"
)

// The test binary is also the plugin, as in go-plugin's own tests: run
// with envServe set, it serves a filesystem store in that directory
// (envMode "lie" makes it a faulty store that names the wrong key and
// digest; "v2" speaks another protocol version).
const (
	envServe = "SLUICE_STORE_TEST_SERVE"
	envMode  = "SLUICE_STORE_TEST_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envServe); dir != "" {
		s, err := cache.NewFS(dir)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		switch os.Getenv(envMode) {
		case "lie":
			Serve(liar{s})
		case "v2":
			h := Handshake
			h.ProtocolVersion = ProtocolVersion + 1
			plugin.Serve(&plugin.ServeConfig{HandshakeConfig: h, Plugins: PluginMap(s), GRPCServer: plugin.DefaultGRPCServer})
		default:
			Serve(s)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startPlugin starts this test binary as a store plugin over dir.
func startPlugin(t *testing.T, dir, mode string) (*Client, error) {
	t.Helper()
	t.Setenv(envServe, dir)
	t.Setenv(envMode, mode)
	c, err := Start(os.Args[0], nil, 10*time.Second)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// corruptible is the plugin's store with a way to damage a blob on the
// plugin's disk, for the suite's corruption test.
type corruptible struct {
	*Client
	fs *cache.FSStore
}

func (c corruptible) CorruptBlob(d cache.Digest) error { return c.fs.CorruptBlob(d) }

// TestConformance runs the store conformance suite against a store
// served by a plugin process.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cache.Store {
		dir := t.TempDir()
		c, err := startPlugin(t, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		fs, err := cache.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		return corruptible{Client: c, fs: fs}
	})
}

// liar is a store that answers with the wrong key and digest.
type liar struct{ *cache.FSStore }

func (l liar) GetEntry(ctx context.Context, key cache.Key) (*cache.Entry, error) {
	e, err := l.FSStore.GetEntry(ctx, key)
	if err == nil {
		e.Key[0] ^= 0xff
	}
	return e, err
}

func (l liar) PutBlob(ctx context.Context, r io.Reader) (cache.Digest, int64, error) {
	d, n, err := l.FSStore.PutBlob(ctx, r)
	d[0] ^= 0xff
	return d, n, err
}

// A faulty plugin costs misses and errors, never wrong data.
func TestFaultyPlugin(t *testing.T) {
	dir := t.TempDir()
	c, err := startPlugin(t, dir, "lie")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.PutBlob(ctx, strings.NewReader("data")); err == nil || !strings.Contains(err.Error(), "stored") {
		t.Errorf("PutBlob answered with another digest: error %v, want the client to refuse it", err)
	}
	fs, err := cache.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &cache.Entry{Key: cache.Key{1, 2, 3}, Params: map[string]string{"x": "1"}, Created: time.Now()}
	if err := fs.PutEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEntry(ctx, e.Key); !errors.Is(err, cache.ErrCorrupt) {
		t.Errorf("GetEntry answered with another key: error %v, want ErrCorrupt", err)
	}
}

func TestHandshakeVersionMismatch(t *testing.T) {
	_, err := startPlugin(t, t.TempDir(), "v2")
	if err == nil || !strings.Contains(err.Error(), "incompatible API version") {
		t.Errorf("start a plugin of protocol version %d: error %v, want an incompatible-version error", ProtocolVersion+1, err)
	}
}

// A plugin that dies makes calls fail at once, not hang: the caller then
// runs the step.
func TestPluginDies(t *testing.T) {
	c, err := startPlugin(t, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.GetEntry(ctx, cache.Key{1}); err == nil || errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetEntry on a dead plugin: %v, want a store fault", err)
	}
}

// TestOpenURL builds the example plugin and opens it as users do, through
// cache.Open and a plugin:/// URL, with its directory as arg.
func TestOpenURL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example plugin")
	}
	bin := filepath.Join(t.TempDir(), "sluice-store-fs")
	build := exec.Command("go", "build", "-o", bin, "./example")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the example plugin: %v\n%s", err, out)
	}
	dir := t.TempDir()
	s, err := cache.Open(context.Background(), "plugin://"+bin+"?arg="+dir+"&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	defer s.(io.Closer).Close()
	d, n, err := s.PutBlob(context.Background(), strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatalf("PutBlob: %v (%d bytes)", err, n)
	}
	// The blob is in the plugin's directory, as the filesystem store lays it out.
	if _, err := os.Stat(filepath.Join(dir, "cas", "sha256", d.Hex())); err != nil {
		t.Errorf("blob not where the example plugin keeps it: %v", err)
	}

	for _, bad := range []string{
		"plugin://host/bin",
		"plugin:///relative/../nope/not-there",
		"plugin://" + bin + "?timeout=fast",
		"plugin://" + bin + "?colour=blue",
	} {
		if _, err := cache.Open(context.Background(), bad); err == nil {
			t.Errorf("Open(%q): no error", bad)
		}
	}
}
