package cache_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

func TestArtifactURI(t *testing.T) {
	ref := cache.ArtifactRef{Digest: sha256.Sum256(nil), Size: 1234, Kind: cache.KindDir}
	uri := ref.URI()
	want := "cas://sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855?kind=dir&size=1234"
	if uri != want {
		t.Errorf("URI() = %q, want %q", uri, want)
	}
	got, err := cache.ParseArtifactURI(uri)
	if err != nil {
		t.Fatalf("ParseArtifactURI: %v", err)
	}
	if diff := cmp.Diff(ref, got); diff != "" {
		t.Errorf("ParseArtifactURI(URI()) mismatch (-want +got):\n%s", diff)
	}
	// Query order is not significant.
	if got, err := cache.ParseArtifactURI(cacheURI("size=1234&kind=dir")); err != nil || got != ref {
		t.Errorf("ParseArtifactURI with the query reordered = %+v, %v; want %+v", got, err, ref)
	}
}

func cacheURI(query string) string {
	return "cas://sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855?" + query
}

func TestParseArtifactURIInvalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"other scheme", "s3://sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855?kind=file&size=0"},
		{"other algorithm", "cas://sha512/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855?kind=file&size=0"},
		{"short digest", "cas://sha256/e3b0?kind=file&size=0"},
		{"no kind", cacheURI("size=0")},
		{"unknown kind", cacheURI("kind=pipe&size=0")},
		{"no size", cacheURI("kind=file")},
		{"negative size", cacheURI("kind=file&size=-1")},
		{"bad query", cacheURI("kind=file&size=%zz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := cache.ParseArtifactURI(tt.in); err == nil {
				t.Errorf("ParseArtifactURI(%q) = %+v, want an error", tt.in, got)
			}
		})
	}
}

func TestEntryExpired(t *testing.T) {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e := &cache.Entry{Created: created}
	tests := []struct {
		name string
		ttl  time.Duration
		now  time.Time
		want bool
	}{
		{"no ttl", 0, created.Add(1000 * time.Hour), false},
		{"negative ttl", -time.Hour, created.Add(1000 * time.Hour), false},
		{"fresh", time.Hour, created.Add(59 * time.Minute), false},
		{"exactly ttl", time.Hour, created.Add(time.Hour), false},
		{"old", time.Hour, created.Add(61 * time.Minute), true},
		{"clock behind", time.Hour, created.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Expired(tt.ttl, tt.now); got != tt.want {
				t.Errorf("Expired(%v, created%+v) = %v, want %v", tt.ttl, tt.now.Sub(created), got, tt.want)
			}
		})
	}
}
