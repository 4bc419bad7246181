package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/s3"
	"github.com/sluice-dev/sluice/cache/s3test"
	"github.com/sluice-dev/sluice/cache/storetest"
)

// config returns the configuration of prefix in bucket on srv, with
// credentials from a directory.
func config(t testing.TB, srv *s3test.Server, bucket, prefix string) s3.Config {
	t.Helper()
	return s3.Config{
		Bucket:         bucket,
		Prefix:         prefix,
		Endpoint:       srv.Endpoint,
		Insecure:       true,
		CredentialsDir: srv.CredentialsDir(t),
	}
}

func newStore(t testing.TB, c s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(t.Context(), c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("BucketRoot", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) cache.Store {
			return newStore(t, config(t, srv, srv.NewBucket(t), ""))
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		// One bucket for all: each store must see only its own prefix.
		bucket := srv.NewBucket(t)
		var n atomic.Int64
		storetest.Run(t, func(t *testing.T) cache.Store {
			return newStore(t, config(t, srv, bucket, fmt.Sprintf("team/cache-%d", n.Add(1))))
		})
	})
}

// TestOpen opens a store by URL, as `sluice --cache s3://…` does once
// cmd/sluice has imported the package.
func TestOpen(t *testing.T) {
	srv := s3test.Start(t)
	st, err := cache.Open(t.Context(), srv.URL(t, srv.NewBucket(t), "p"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := st.(*s3.Store); !ok {
		t.Fatalf("Open returned a %T, want *s3.Store", st)
	}
	d, _, err := st.PutBlob(t.Context(), bytes.NewReader([]byte("via url")))
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if _, err := cache.VerifyBlob(t.Context(), st, d); err != nil {
		t.Errorf("VerifyBlob: %v", err)
	}
}

// TestLayout checks the names that other tools (and other versions of
// sluice) rely on.
func TestLayout(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	st := newStore(t, config(t, srv, bucket, "p/q"))
	data := []byte("layout")
	d, _, err := st.PutBlob(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	e := &cache.Entry{Key: cache.ComputeKey(cache.Components{Image: "img"}), Created: time.Unix(0, 0).UTC()}
	if err := st.PutEntry(t.Context(), e); err != nil {
		t.Fatalf("PutEntry: %v", err)
	}
	want := []string{
		"p/q/ac/" + e.Key.String() + ".json",
		"p/q/cas/sha256/" + d.Hex(),
	}
	if diff := cmp.Diff(want, objectNames(t, srv, bucket, "")); diff != "" {
		t.Errorf("objects in the bucket mismatch (-want +got):\n%s", diff)
	}
}

// objectNames lists the bucket under prefix, sorted.
func objectNames(t *testing.T, srv *s3test.Server, bucket, prefix string) []string {
	t.Helper()
	var names []string
	for o := range srv.Client(t).ListObjectsIter(t.Context(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", bucket, o.Err)
		}
		names = append(names, o.Key)
	}
	return names
}

func TestNewMissingBucket(t *testing.T) {
	srv := s3test.Start(t)
	c := config(t, srv, "no-such-bucket", "p")
	_, err := s3.New(t.Context(), c)
	if !errors.Is(err, s3.ErrNoBucket) {
		t.Fatalf("New with a missing bucket: got error %v, want ErrNoBucket", err)
	}
	want := fmt.Sprintf(`open cache: s3 store s3://no-such-bucket/p at %s: bucket "no-such-bucket": no such bucket`, srv.Endpoint)
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error message mismatch (-want +got):\n%s", diff)
	}
	var se *s3.Error
	if !errors.As(err, &se) || se.Store != "s3://no-such-bucket/p" || se.Endpoint != srv.Endpoint {
		t.Errorf("New error %#v: want an *s3.Error naming the store and endpoint", err)
	}
}

func TestNewWrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	tests := []struct {
		name           string
		access, secret string
	}{
		{"unknown access key", "nobody", s3test.SecretKey},
		{"wrong secret", s3test.AccessKey, "wrong-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config(t, srv, bucket, "p")
			c.CredentialsDir = s3test.WriteCredentials(t, tt.access, tt.secret)
			_, err := s3.New(t.Context(), c)
			if !errors.Is(err, s3.ErrAccessDenied) {
				t.Fatalf("New: got error %v, want ErrAccessDenied", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

// TestNewUnreachable needs no server: it talks to a port nothing listens
// on.
func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := l.Addr().String()
	l.Close()
	c := s3.Config{
		Bucket:         "bucket",
		Endpoint:       endpoint,
		Insecure:       true,
		CredentialsDir: s3test.WriteCredentials(t, "a", "b"),
		MaxRetries:     1,
	}
	_, err = s3.New(t.Context(), c)
	if !errors.Is(err, s3.ErrUnreachable) {
		t.Fatalf("New: got error %v, want ErrUnreachable", err)
	}
	var se *s3.Error
	if !errors.As(err, &se) || se.Endpoint != endpoint {
		t.Errorf("New error %#v: want an *s3.Error naming endpoint %s", err, endpoint)
	}
	t.Logf("error: %v", err)
}

// TestCredentialsFromEnv opens stores with credentials from the
// environment and the AWS shared credentials file, as a CI job or a
// developer's machine has them.
func TestCredentialsFromEnv(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	tests := []struct {
		name string
		env  map[string]string
		file string // AWS shared credentials file
	}{
		{"AWS variables", map[string]string{"AWS_ACCESS_KEY_ID": s3test.AccessKey, "AWS_SECRET_ACCESS_KEY": s3test.SecretKey}, ""},
		{"MinIO variables", map[string]string{"MINIO_ROOT_USER": s3test.AccessKey, "MINIO_ROOT_PASSWORD": s3test.SecretKey}, ""},
		{
			"shared credentials file",
			map[string]string{"AWS_PROFILE": "sluice"},
			fmt.Sprintf("[sluice]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s3test.AccessKey, s3test.SecretKey),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s3.ClearCredentialEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.file != "" {
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", writeFile(t, "credentials", tt.file))
			}
			u := url.URL{Scheme: "s3", Host: bucket, Path: "/env", RawQuery: url.Values{
				"endpoint": {srv.Endpoint}, "insecure": {"true"},
			}.Encode()}
			st, err := cache.Open(t.Context(), u.String())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if _, _, err := st.PutBlob(t.Context(), bytes.NewReader([]byte(tt.name))); err != nil {
				t.Errorf("PutBlob: %v", err)
			}
		})
	}
}

// TestServerDownMidUpload kills the server while PutBlob streams a blob
// bigger than one part: PutBlob fails, and once the server is back
// nothing of the blob is in the store.
func TestServerDownMidUpload(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	c := config(t, srv, bucket, "p")
	c.MaxRetries = 2
	st := newStore(t, c)

	r := &stallingReader{
		r:       io.LimitReader(rand.NewChaCha8([32]byte{7}), 40<<20),
		stallAt: s3.DefaultPartSize + 4<<20, // the first part is up
		stalled: make(chan struct{}),
		resume:  make(chan struct{}),
	}
	errc := make(chan error, 1)
	go func() {
		_, _, err := st.PutBlob(t.Context(), r)
		errc <- err
	}()
	select {
	case <-r.stalled:
	case err := <-errc:
		t.Fatalf("PutBlob returned before the reader stalled: %v", err)
	}
	srv.Stop()
	close(r.resume)
	err := <-errc
	if !errors.Is(err, s3.ErrUnreachable) {
		t.Errorf("PutBlob with the server down: got error %v, want ErrUnreachable", err)
	}
	t.Logf("error: %v", err)

	srv.Restart(t)
	if names := objectNames(t, srv, bucket, ""); len(names) != 0 {
		t.Errorf("objects after a failed PutBlob: %q, want none", names)
	}
	err = st.ListEntries(t.Context(), func(e *cache.Entry) error {
		return fmt.Errorf("entry %s", e.Key)
	})
	if err != nil {
		t.Errorf("ListEntries after a failed PutBlob: %v", err)
	}
}

// TestPutBlobSourceFails reads from a source that fails mid-blob: the
// error is the source's, not blamed on the store, and nothing is stored.
func TestPutBlobSourceFails(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	st := newStore(t, config(t, srv, bucket, "p"))
	broken := errors.New("disk on fire")
	for _, size := range []int64{1000, 20 << 20} { // one PUT; multipart
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := io.MultiReader(io.LimitReader(rand.NewChaCha8([32]byte{}), size), iotest.ErrReader(broken))
			_, _, err := st.PutBlob(t.Context(), r)
			var se *s3.Error
			if !errors.Is(err, broken) || errors.As(err, &se) {
				t.Errorf("PutBlob from a failing source: got error %v, want %v and no *s3.Error", err, broken)
			}
			if names := objectNames(t, srv, bucket, ""); len(names) != 0 {
				t.Errorf("objects after a failed PutBlob: %q, want none", names)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stallingReader blocks once it has returned stallAt bytes, until resume
// is closed.
type stallingReader struct {
	r               io.Reader
	n, stallAt      int64
	stalled, resume chan struct{}
	once            sync.Once
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n >= s.stallAt {
		s.once.Do(func() { close(s.stalled) })
		<-s.resume
	}
	if rest := s.stallAt - s.n; rest > 0 && int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	return n, err
}

// TestCorruptBlobOtherSize replaces a blob's content with content of
// another size, as a stray writer might: reading it fails with
// ErrCorrupt and removes it, and a later PutBlob of the right content
// repairs it.
func TestCorruptBlobOtherSize(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	st := newStore(t, config(t, srv, bucket, "p"))
	good := []byte("the right content")
	d, _, err := st.PutBlob(t.Context(), bytes.NewReader(good))
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	overwrite := func() {
		t.Helper()
		bad := []byte("something else entirely")
		_, err := srv.Client(t).PutObject(t.Context(), bucket, "p/cas/sha256/"+d.Hex(), bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}

	overwrite()
	if _, err := cache.VerifyBlob(t.Context(), st, d); !errors.Is(err, cache.ErrCorrupt) {
		t.Errorf("VerifyBlob of a corrupt blob: got error %v, want ErrCorrupt", err)
	}
	if _, err := st.StatBlob(t.Context(), d); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("StatBlob after reading a corrupt blob: got error %v, want ErrNotFound", err)
	}

	overwrite()
	if _, _, err := st.PutBlob(t.Context(), bytes.NewReader(good)); err != nil {
		t.Fatalf("PutBlob over a corrupt blob: %v", err)
	}
	if _, err := cache.VerifyBlob(t.Context(), st, d); err != nil {
		t.Errorf("VerifyBlob after PutBlob over a corrupt blob: %v", err)
	}
}

func TestCorruptEntry(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	st := newStore(t, config(t, srv, bucket, "p"))
	key := cache.ComputeKey(cache.Components{Image: "img"})
	other, err := jsonEntry(cache.ComputeKey(cache.Components{Image: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"not JSON", []byte("{truncated")},
		{"another key", other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := srv.Client(t).PutObject(t.Context(), bucket, "p/ac/"+key.String()+".json",
				bytes.NewReader(tt.data), int64(len(tt.data)), minio.PutObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetEntry(t.Context(), key); !errors.Is(err, cache.ErrCorrupt) {
				t.Errorf("GetEntry of a corrupt entry: got error %v, want ErrCorrupt", err)
			}
			if _, err := st.GetEntry(t.Context(), key); !errors.Is(err, cache.ErrNotFound) {
				t.Errorf("GetEntry after a corrupt entry: got error %v, want ErrNotFound (removed)", err)
			}
		})
	}
}

func jsonEntry(key cache.Key) ([]byte, error) {
	return json.Marshal(&cache.Entry{Key: key})
}

// TestLargeBlob streams 64 MiB from a reader that cannot seek: PutBlob
// must not hold the blob in memory, only one part (DefaultPartSize) and
// its first read. The check is coarse, the peak heap growth sampled
// while the upload runs, but buffering the whole blob would exceed it.
func TestLargeBlob(t *testing.T) {
	srv := s3test.Start(t)
	st := newStore(t, config(t, srv, srv.NewBucket(t), "p"))
	const size = 64 << 20
	src := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{9}), size) }
	h := sha256.New()
	io.Copy(h, src())
	want := cache.Digest(h.Sum(nil))

	peak := watchHeap(t)
	d, n, err := st.PutBlob(t.Context(), struct{ io.Reader }{src()})
	growth := peak()
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if d != want || n != size {
		t.Fatalf("PutBlob = %s, %d; want %s, %d", d, n, want, size)
	}
	t.Logf("peak heap growth during PutBlob of %d MiB: %d MiB (part size %d MiB)", size>>20, growth>>20, s3.DefaultPartSize>>20)
	if growth >= size {
		t.Errorf("heap grew by %d MiB during PutBlob of %d MiB: the blob is buffered", growth>>20, size>>20)
	}
	if got, err := st.StatBlob(t.Context(), d); err != nil || got != size {
		t.Errorf("StatBlob = %d, %v; want %d, nil", got, err, size)
	}
	if got, err := cache.VerifyBlob(t.Context(), st, d); err != nil || got != size {
		t.Errorf("VerifyBlob = %d, %v; want %d, nil", got, err, size)
	}
}

// watchHeap samples the heap in use until the returned function is
// called, which returns the peak growth over the heap at the start.
func watchHeap(t *testing.T) func() uint64 {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak.Load(), base) - base
	}
}
