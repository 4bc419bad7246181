package cache_test

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/cache"
)

func TestDigestString(t *testing.T) {
	d := cache.Digest(sha256.Sum256(nil))
	const hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got, want := d.String(), "sha256:"+hex; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := d.Hex(); got != hex {
		t.Errorf("Hex() = %q, want %q", got, hex)
	}
	if d.IsZero() || !(cache.Digest{}).IsZero() {
		t.Errorf("IsZero: got %v for a digest and %v for the zero digest", d.IsZero(), (cache.Digest{}).IsZero())
	}
}

func TestParseDigest(t *testing.T) {
	d := cache.Digest(sha256.Sum256([]byte("x")))
	got, err := cache.ParseDigest(d.String())
	if err != nil || got != d {
		t.Errorf("ParseDigest(%q) = %s, %v; want %s, nil", d.String(), got, err, d)
	}

	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"no prefix", d.Hex()},
		{"other algorithm", "sha512:" + d.Hex()},
		{"short", "sha256:" + d.Hex()[:63]},
		{"long", "sha256:" + d.Hex() + "0"},
		{"uppercase", "sha256:" + strings.ToUpper(d.Hex())},
		{"not hex", "sha256:" + strings.Repeat("g", 64)},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := cache.ParseDigest(tt.in); err == nil {
				t.Errorf("ParseDigest(%q) = %s, want an error", tt.in, got)
			}
		})
	}
}

func TestDigestJSON(t *testing.T) {
	type doc struct {
		D cache.Digest `json:"d"`
		K cache.Key    `json:"k"`
	}
	in := doc{D: sha256.Sum256([]byte("d")), K: cache.ComputeKey(cache.Components{Image: "x"})}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"d":"` + in.D.String() + `","k":"` + in.K.String() + `"}`
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("json.Marshal mismatch (-want +got):\n%s", diff)
	}
	var out doc
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("json round trip mismatch (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`{"d":"sha256:zz"}`), &out); err == nil {
		t.Errorf("json.Unmarshal of a bad digest succeeded")
	}
}
