package cache

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Entry is one action-cache record: what a step produced for a Key. It
// keeps the Components the key was computed from, so that a later miss
// can be explained by Components.Diff against the last entry of the step.
type Entry struct {
	Key Key `json:"key"`
	// Pipeline, Step and Run say who produced the entry: for people and for
	// `sluice cache ls`, never for lookup.
	Pipeline string    `json:"pipeline,omitempty"`
	Step     string    `json:"step,omitempty"`
	Run      string    `json:"run,omitempty"`
	Created  time.Time `json:"created"`
	// Components are the inputs of Key.
	Components Components `json:"components"`
	// Params are the output parameter values by name.
	Params map[string]string `json:"params,omitempty"`
	// Artifacts are the output artifacts by name.
	Artifacts map[string]ArtifactRef `json:"artifacts,omitempty"`
}

// Expired reports whether e is older than ttl at now. A ttl of zero (or
// less) means entries never expire.
func (e *Entry) Expired(ttl time.Duration, now time.Time) bool {
	return ttl > 0 && now.Sub(e.Created) > ttl
}

// Kind says how an artifact blob is to be materialized.
type Kind string

// The artifact kinds.
const (
	// KindFile is a blob holding a regular file's bytes as they are.
	KindFile Kind = "file"
	// KindDir is a blob holding a directory tree in the deterministic tar
	// format described in the package documentation.
	KindDir Kind = "dir"
)

// ArtifactRef points at an artifact in a Store.
type ArtifactRef struct {
	Digest Digest `json:"digest"`
	Size   int64  `json:"size"`
	Kind   Kind   `json:"kind"`
}

// uriPrefix starts every artifact URI.
const uriPrefix = "cas://sha256/"

// URI returns the reference as the string that travels between steps, in
// engine parameters and results:
//
//	cas://sha256/<64 hex digits>?kind=file&size=N
//
// It names content, not a location: any Store holding the blob can serve
// it, and a cache key can be computed from it before any download.
func (a ArtifactRef) URI() string {
	return fmt.Sprintf("%s%s?kind=%s&size=%d", uriPrefix, a.Digest.Hex(), a.Kind, a.Size)
}

// ParseArtifactURI parses the form URI returns. Kind and size are both
// required.
func ParseArtifactURI(s string) (ArtifactRef, error) {
	fail := func(format string, args ...any) (ArtifactRef, error) {
		return ArtifactRef{}, fmt.Errorf("parse artifact uri %q: %s", s, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(s, uriPrefix)
	if !ok {
		return fail("want prefix %q", uriPrefix)
	}
	hexDigest, rawQuery, _ := strings.Cut(rest, "?")
	d, err := parseHex32(hexDigest)
	if err != nil {
		return fail("digest: %v", err)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fail("%v", err)
	}
	ref := ArtifactRef{Digest: d, Kind: Kind(q.Get("kind"))}
	if ref.Kind != KindFile && ref.Kind != KindDir {
		return fail("kind %q: want %q or %q", ref.Kind, KindFile, KindDir)
	}
	ref.Size, err = strconv.ParseInt(q.Get("size"), 10, 64)
	if err != nil || ref.Size < 0 {
		return fail("size %q: want a non-negative integer", q.Get("size"))
	}
	return ref, nil
}
