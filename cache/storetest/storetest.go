package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

// Corrupter is implemented by stores that can damage a blob in place, as a
// failing disk would. Run uses it, when the store has it, to check that
// corruption is detected on read.
type Corrupter interface {
	CorruptBlob(d cache.Digest) error
}

// Run runs the conformance suite, calling open for a new, empty store in
// each subtest.
func Run(t *testing.T, open func(t *testing.T) cache.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cache.Store)
	}{
		{"EntryRoundTrip", testEntryRoundTrip},
		{"EntryNotFound", testEntryNotFound},
		{"EntryOverwrite", testEntryOverwrite},
		{"EntryDelete", testEntryDelete},
		{"ListEntries", testListEntries},
		{"BlobRoundTrip", testBlobRoundTrip},
		{"BlobNotFound", testBlobNotFound},
		{"BlobDelete", testBlobDelete},
		{"ListBlobs", testListBlobs},
		{"CorruptBlob", testCorruptBlob},
		{"ConcurrentPutBlob", testConcurrentPutBlob},
		{"PutBlobCanceled", testPutBlobCanceled},
		{"PathFile", testPathFile},
		{"PathDir", testPathDir},
		{"PathDirDeterministic", testPathDirDeterministic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func sampleEntry(salt string) *cache.Entry {
	c := cache.Components{
		Image:   "busybox@sha256:" + fmt.Sprintf("%064x", 1),
		Command: []string{"sh", "-c"},
		Args:    []string{"echo $MODE > out"},
		Env: []cache.EnvVar{
			{Name: "MODE", Value: "fast"},
			{Name: "TOKEN", Secret: "creds/token@3"},
		},
		WorkingDir: "/work",
		Outputs:    cache.Outputs{Params: []string{"rows:integer"}, Artifacts: []string{"out"}},
		Params:     map[string]string{"n": "3"},
		Artifacts:  map[string]cache.Digest{"data": sha256.Sum256([]byte("data"))},
		Salt:       salt,
	}
	return &cache.Entry{
		Key:        cache.ComputeKey(c),
		Pipeline:   "demo",
		Step:       "train",
		Run:        "run-1",
		Created:    time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.UTC),
		Components: c,
		Params:     map[string]string{"rows": "42"},
		Artifacts: map[string]cache.ArtifactRef{
			"out": {Digest: sha256.Sum256([]byte("out")), Size: 3, Kind: cache.KindFile},
		},
	}
}

func mustPutEntry(t *testing.T, s cache.Store, e *cache.Entry) {
	t.Helper()
	if err := s.PutEntry(t.Context(), e); err != nil {
		t.Fatalf("PutEntry: %v", err)
	}
}

func testEntryRoundTrip(t *testing.T, s cache.Store) {
	want := sampleEntry("")
	mustPutEntry(t, s, want)
	got, err := s.GetEntry(t.Context(), want.Key)
	if err != nil {
		t.Fatalf("GetEntry: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetEntry mismatch (-want +got):\n%s", diff)
	}
}

func testEntryNotFound(t *testing.T, s cache.Store) {
	key := sampleEntry("").Key
	if _, err := s.GetEntry(t.Context(), key); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetEntry of a missing key: got error %v, want ErrNotFound", err)
	}
	if err := s.DeleteEntry(t.Context(), key); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("DeleteEntry of a missing key: got error %v, want ErrNotFound", err)
	}
}

func testEntryOverwrite(t *testing.T, s cache.Store) {
	first := sampleEntry("")
	mustPutEntry(t, s, first)
	second := sampleEntry("")
	second.Run = "run-2"
	second.Params = map[string]string{"rows": "43"}
	mustPutEntry(t, s, second)
	got, err := s.GetEntry(t.Context(), first.Key)
	if err != nil {
		t.Fatalf("GetEntry: %v", err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("GetEntry after overwrite mismatch (-want +got):\n%s", diff)
	}
}

func testEntryDelete(t *testing.T, s cache.Store) {
	e := sampleEntry("")
	mustPutEntry(t, s, e)
	if err := s.DeleteEntry(t.Context(), e.Key); err != nil {
		t.Fatalf("DeleteEntry: %v", err)
	}
	if _, err := s.GetEntry(t.Context(), e.Key); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetEntry after DeleteEntry: got error %v, want ErrNotFound", err)
	}
}

func testListEntries(t *testing.T, s cache.Store) {
	var want []string
	for _, salt := range []string{"a", "b", "c"} {
		e := sampleEntry(salt)
		mustPutEntry(t, s, e)
		want = append(want, e.Key.String())
	}
	var got []string
	err := s.ListEntries(t.Context(), func(e *cache.Entry) error {
		got = append(got, e.Key.String())
		return nil
	})
	if err != nil {
		t.Fatalf("ListEntries: %v", err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListEntries keys mismatch (-want +got):\n%s", diff)
	}

	stop := errors.New("stop")
	calls := 0
	err = s.ListEntries(t.Context(), func(*cache.Entry) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ListEntries with a failing callback: got error %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

func mustPutBlob(t *testing.T, s cache.Store, data []byte) cache.Digest {
	t.Helper()
	d, n, err := s.PutBlob(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if want := cache.Digest(sha256.Sum256(data)); d != want || n != int64(len(data)) {
		t.Fatalf("PutBlob = %s, %d; want %s, %d", d, n, want, len(data))
	}
	return d
}

func readBlob(t *testing.T, s cache.Store, d cache.Digest) ([]byte, error) {
	t.Helper()
	r, err := s.OpenBlob(t.Context(), d)
	if err != nil {
		t.Fatalf("OpenBlob: %v", err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

func testBlobRoundTrip(t *testing.T, s cache.Store) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, sluice\n")},
		{"multi-MiB", randomBytes(3<<20+17, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustPutBlob(t, s, tt.data)
			size, err := s.StatBlob(t.Context(), d)
			if err != nil || size != int64(len(tt.data)) {
				t.Errorf("StatBlob = %d, %v; want %d, nil", size, err, len(tt.data))
			}
			got, err := readBlob(t, s, d)
			if err != nil {
				t.Fatalf("reading blob: %v", err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("blob content: got %d bytes, want the %d bytes put", len(got), len(tt.data))
			}
		})
	}
}

func testBlobNotFound(t *testing.T, s cache.Store) {
	d := cache.Digest(sha256.Sum256([]byte("never stored")))
	if _, err := s.OpenBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("OpenBlob of a missing blob: got error %v, want ErrNotFound", err)
	}
	if _, err := s.StatBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("StatBlob of a missing blob: got error %v, want ErrNotFound", err)
	}
	if err := s.DeleteBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("DeleteBlob of a missing blob: got error %v, want ErrNotFound", err)
	}
}

func testBlobDelete(t *testing.T, s cache.Store) {
	d := mustPutBlob(t, s, []byte("doomed"))
	if err := s.DeleteBlob(t.Context(), d); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	if _, err := s.StatBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("StatBlob after DeleteBlob: got error %v, want ErrNotFound", err)
	}
}

func listBlobs(t *testing.T, s cache.Store) map[cache.Digest]int64 {
	t.Helper()
	got := map[cache.Digest]int64{}
	err := s.ListBlobs(t.Context(), func(d cache.Digest, size int64, _ time.Time) error {
		got[d] = size
		return nil
	})
	if err != nil {
		t.Fatalf("ListBlobs: %v", err)
	}
	return got
}

func testListBlobs(t *testing.T, s cache.Store) {
	want := map[cache.Digest]int64{}
	for _, data := range [][]byte{nil, []byte("one"), randomBytes(1000, 2)} {
		want[mustPutBlob(t, s, data)] = int64(len(data))
	}
	if diff := cmp.Diff(want, listBlobs(t, s)); diff != "" {
		t.Errorf("ListBlobs mismatch (-want +got):\n%s", diff)
	}
}

func testCorruptBlob(t *testing.T, s cache.Store) {
	c, ok := s.(Corrupter)
	if !ok {
		t.Skip("store does not implement storetest.Corrupter")
	}
	for _, data := range [][]byte{nil, randomBytes(2<<20, 3)} {
		d := mustPutBlob(t, s, data)
		if err := c.CorruptBlob(d); err != nil {
			t.Fatalf("CorruptBlob: %v", err)
		}
		if _, err := readBlob(t, s, d); !errors.Is(err, cache.ErrCorrupt) {
			t.Errorf("reading a corrupt blob of %d bytes: got error %v, want ErrCorrupt", len(data), err)
		}
		if _, err := s.StatBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("StatBlob after reading a corrupt blob: got error %v, want ErrNotFound (removed)", err)
		}
		mustPutBlob(t, s, data)
		if _, err := cache.VerifyBlob(t.Context(), s, d); err != nil {
			t.Errorf("VerifyBlob after putting the blob again: %v", err)
		}
	}
}

func testConcurrentPutBlob(t *testing.T, s cache.Store) {
	data := randomBytes(1<<20, 4)
	want := cache.Digest(sha256.Sum256(data))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			d, _, err := s.PutBlob(t.Context(), bytes.NewReader(data))
			if err == nil && d != want {
				err = fmt.Errorf("digest %s, want %s", d, want)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent PutBlob: %v", err)
	}
	if diff := cmp.Diff(map[cache.Digest]int64{want: int64(len(data))}, listBlobs(t, s)); diff != "" {
		t.Errorf("ListBlobs after concurrent PutBlob mismatch (-want +got):\n%s", diff)
	}
	if _, err := cache.VerifyBlob(t.Context(), s, want); err != nil {
		t.Errorf("VerifyBlob: %v", err)
	}
}

func testPutBlobCanceled(t *testing.T, s cache.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.PutBlob(ctx, bytes.NewReader([]byte("late"))); err == nil {
		t.Errorf("PutBlob with a canceled context succeeded")
	}
	if diff := cmp.Diff(map[cache.Digest]int64{}, listBlobs(t, s)); diff != "" {
		t.Errorf("ListBlobs after a canceled PutBlob mismatch (-want +got):\n%s", diff)
	}
}

func testPathFile(t *testing.T, s cache.Store) {
	data := randomBytes(100_000, 5)
	src := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := cache.PutPath(t.Context(), s, src)
	if err != nil {
		t.Fatalf("PutPath: %v", err)
	}
	want := cache.ArtifactRef{Digest: sha256.Sum256(data), Size: int64(len(data)), Kind: cache.KindFile}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("PutPath mismatch (-want +got):\n%s", diff)
	}
	dest := filepath.Join(t.TempDir(), "a", "b", "model.bin")
	if err := cache.GetPath(t.Context(), s, ref, dest); err != nil {
		t.Fatalf("GetPath: %v", err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("GetPath wrote %d bytes (error %v), want the %d bytes put", len(got), err, len(data))
	}
}

// A node is one file in a test tree, described as "dir", "link:<target>"
// or "file:<content>", with its permission bits.
type node struct {
	Kind string
	Perm fs.FileMode
}

// trees are the directory shapes the path tests put and get.
var trees = []struct {
	name  string
	nodes map[string]node
}{
	{"empty", map[string]node{}},
	{"nested", map[string]node{
		"a.txt":            {"file:alpha\n", 0o644},
		"bin":              {"dir", 0o755},
		"bin/run.sh":       {"file:#!/bin/sh\necho hi\n", 0o755},
		"data":             {"dir", 0o750},
		"data/deep":        {"dir", 0o755},
		"data/deep/x.csv":  {"file:1,2,3\n", 0o600},
		"data/deep/empty":  {"file:", 0o644},
		"data/up":          {"link:../a.txt", 0o777},
		"empty-dir":        {"dir", 0o755},
		"link":             {"link:a.txt", 0o777},
		"read-only-dir":    {"dir", 0o555},
		"read-only-dir/ro": {"file:ro", 0o444},
		"ünïcødé ✓.txt":    {"file:utf-8 names need pax records", 0o644},
		"data/" + strings.Repeat("long-name-", 20): {"file:longer than ustar's 100 bytes", 0o644},
	}},
}

// makeTree creates nodes under dir in the given name order.
func makeTree(t *testing.T, dir string, nodes map[string]node, names []string, mtime time.Time) {
	t.Helper()
	for _, name := range names {
		n, p := nodes[name], filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch kind, arg, _ := strings.Cut(n.Kind, ":"); kind {
		case "dir":
			err = os.MkdirAll(p, 0o755)
		case "file":
			err = os.WriteFile(p, []byte(arg), 0o644)
		case "link":
			err = os.Symlink(arg, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Times and modes last, children first: a read-only directory must
	// be filled before it is made read-only.
	for _, name := range slices.Backward(names) {
		n, p := nodes[name], filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasPrefix(n.Kind, "link:") {
			continue
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, n.Perm); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { makeWritable(dir) })
}

// makeWritable lets t.TempDir's cleanup remove read-only directories.
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// readTree describes the tree under dir in makeTree's terms.
func readTree(t *testing.T, dir string) map[string]node {
	t.Helper()
	got := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n := node{Perm: fi.Mode().Perm()}
		switch {
		case fi.IsDir():
			n.Kind = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			n = node{Kind: "link:" + target, Perm: 0o777}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Kind = "file:" + string(data)
		}
		got[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sortedNames(nodes map[string]node) []string {
	var names []string
	for name := range nodes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func testPathDir(t *testing.T, s cache.Store) {
	for _, tt := range trees {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			makeTree(t, src, tt.nodes, sortedNames(tt.nodes), time.Now())
			ref, err := cache.PutPath(t.Context(), s, src)
			if err != nil {
				t.Fatalf("PutPath: %v", err)
			}
			if ref.Kind != cache.KindDir {
				t.Errorf("PutPath kind = %q, want %q", ref.Kind, cache.KindDir)
			}
			dest := filepath.Join(t.TempDir(), "out")
			if err := cache.GetPath(t.Context(), s, ref, dest); err != nil {
				t.Fatalf("GetPath: %v", err)
			}
			t.Cleanup(func() { makeWritable(dest) })
			if diff := cmp.Diff(tt.nodes, readTree(t, dest)); diff != "" {
				t.Errorf("tree after PutPath and GetPath mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testPathDirDeterministic(t *testing.T, s cache.Store) {
	for _, tt := range trees {
		t.Run(tt.name, func(t *testing.T) {
			names := sortedNames(tt.nodes)
			first, second := t.TempDir(), t.TempDir()
			makeTree(t, first, tt.nodes, names, time.Now())
			// Created in another order with other times: the digest must
			// not notice.
			slices.Reverse(names)
			makeTree(t, second, tt.nodes, names, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
			var got []cache.ArtifactRef
			for _, dir := range []string{first, first, second} {
				ref, err := cache.PutPath(t.Context(), s, dir)
				if err != nil {
					t.Fatalf("PutPath: %v", err)
				}
				got = append(got, ref)
			}
			want := []cache.ArtifactRef{got[0], got[0], got[0]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PutPath of equal trees mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
