package cache

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest is the SHA-256 of a blob's content: the name it is stored under
// and the value that travels between steps. It is a different type from
// Key so that an action key can never be used as a content address.
type Digest [32]byte

// digestPrefix names the algorithm in a Digest's string form, as OCI does.
const digestPrefix = "sha256:"

// String returns the digest as "sha256:<64 lowercase hex digits>".
func (d Digest) String() string { return digestPrefix + d.Hex() }

// Hex returns the 64 lowercase hex digits of the digest, the blob's file
// name under cas/sha256/.
func (d Digest) Hex() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the zero Digest, which no content has in
// practice and which marks "no digest".
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText encodes d as its String form, so JSON carries the string.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes the String form.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDigest parses the String form "sha256:<64 hex digits>".
func ParseDigest(s string) (Digest, error) {
	h, ok := strings.CutPrefix(s, digestPrefix)
	if !ok {
		return Digest{}, fmt.Errorf("parse digest %q: want prefix %q", s, digestPrefix)
	}
	d, err := parseHex32(h)
	if err != nil {
		return Digest{}, fmt.Errorf("parse digest %q: %w", s, err)
	}
	return d, nil
}

// parseHex32 decodes exactly 64 lowercase hex digits. Uppercase is
// rejected so that every value has exactly one spelling, which matters for
// names in a store.
func parseHex32(s string) ([32]byte, error) {
	var b [32]byte
	if len(s) != 2*len(b) {
		return b, fmt.Errorf("want %d hex digits, have %d", 2*len(b), len(s))
	}
	if strings.ToLower(s) != s {
		return b, fmt.Errorf("hex digits must be lowercase")
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return b, err
	}
	return b, nil
}
