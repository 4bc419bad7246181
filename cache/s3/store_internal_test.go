package s3

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/cache/s3test"
)

func TestRegistered(t *testing.T) {
	if !slices.Contains(cache.Schemes(), "s3") {
		t.Errorf("cache.Schemes() = %q, want it to hold s3", cache.Schemes())
	}
}

// TestRemoveStaleTemps removes the staging objects of writers that
// crashed more than staleTemp ago, and only those.
func TestRemoveStaleTemps(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	s, err := New(t.Context(), Config{
		Bucket: bucket, Prefix: "p", Endpoint: srv.Endpoint, Insecure: true,
		CredentialsDir: srv.CredentialsDir(t),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	client := srv.Client(t)
	put := func(name string) {
		t.Helper()
		if _, err := client.PutObject(t.Context(), bucket, name, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(name string) bool {
		t.Helper()
		_, err := client.StatObject(t.Context(), bucket, name, minio.StatObjectOptions{})
		if err != nil && !isNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	put("p/tmp/crashed")
	put("p/cas/sha256/not-a-temp")
	put("other/tmp/another-store")

	s.removeStaleTemps(t.Context(), time.Now())
	if !exists("p/tmp/crashed") {
		t.Errorf("a fresh staging object was removed")
	}
	s.removeStaleTemps(t.Context(), time.Now().Add(staleTemp+time.Hour))
	if exists("p/tmp/crashed") {
		t.Errorf("a stale staging object was kept")
	}
	for _, name := range []string{"p/cas/sha256/not-a-temp", "other/tmp/another-store"} {
		if !exists(name) {
			t.Errorf("%s, outside the store's tmp/, was removed", name)
		}
	}
}
