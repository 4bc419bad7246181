package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/cache"
)

// A value ref stands in for an output value that cannot travel through the
// engine as it is. The value is stored as a blob and the ref names it the
// way an artifact URI does, with kind=value:
//
//	cas://sha256/<64 hex digits>?kind=value&size=N
const (
	casPrefix = "cas://"
	refPrefix = "cas://sha256/"
	kindValue = "value"
)

// ValueRef returns the ref of a value stored as blob d of n bytes.
func ValueRef(d cache.Digest, n int64) string {
	return fmt.Sprintf("%s%s?kind=%s&size=%d", refPrefix, d.Hex(), kindValue, n)
}

// IsValueRef reports whether s has the form of a value ref: it starts with
// cas:// and says kind=value. Such a value is always taken as a ref; a
// producing launcher never writes a value of that form inline (see Inline).
func IsValueRef(s string) bool {
	rest, ok := strings.CutPrefix(s, casPrefix)
	if !ok {
		return false
	}
	_, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	return err == nil && q.Get("kind") == kindValue
}

// ParseValueRef parses ValueRef's form.
func ParseValueRef(s string) (cache.Digest, int64, error) {
	fail := func(format string, args ...any) (cache.Digest, int64, error) {
		return cache.Digest{}, 0, fmt.Errorf("parse value ref %q: %s", s, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(s, refPrefix)
	if !ok {
		return fail("want prefix %q", refPrefix)
	}
	hex, rawQuery, _ := strings.Cut(rest, "?")
	d, err := cache.ParseDigest("sha256:" + hex)
	if err != nil {
		return fail("%v", err)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fail("%v", err)
	}
	if k := q.Get("kind"); k != kindValue {
		return fail("kind %q: want %q", k, kindValue)
	}
	n, err := strconv.ParseInt(q.Get("size"), 10, 64)
	if err != nil || n < 0 {
		return fail("size %q: want a non-negative integer", q.Get("size"))
	}
	return d, n, nil
}

// PutValue stores v as a blob and returns its ref.
func PutValue(ctx context.Context, s cache.Store, v string) (string, error) {
	d, n, err := s.PutBlob(ctx, strings.NewReader(v))
	if err != nil {
		return "", fmt.Errorf("store value: %w", err)
	}
	return ValueRef(d, n), nil
}

// GetValue returns the value a ref names, read to the end so that the
// store checks it against its digest.
func GetValue(ctx context.Context, s cache.Store, ref string) (string, error) {
	d, n, err := ParseValueRef(ref)
	if err != nil {
		return "", err
	}
	r, err := s.OpenBlob(ctx, d)
	if err != nil {
		return "", fmt.Errorf("fetch value %s: %w", d, err)
	}
	defer r.Close()
	// Read one byte more than the ref says, so a blob of another size is
	// caught without trusting the size for the allocation.
	b, err := io.ReadAll(io.LimitReader(r, n+1))
	if err == nil && int64(len(b)) != n {
		err = fmt.Errorf("blob has %d bytes or more, ref says %d", len(b), n)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, r) // EOF is where the digest is checked
	}
	if err != nil {
		return "", fmt.Errorf("fetch value %s: %w", d, err)
	}
	return string(b), nil
}

// Inline reports whether an output value can be written as it is, rather
// than as a value ref: it is at most max bytes, and it passes unchanged
// through every engine. So it must be valid UTF-8 (engines carry values in
// JSON), not end in a newline (Argo drops one from an output parameter
// file), contain no engine template syntax (Argo's `{{`, Tekton's `$(`:
// a consumer's --in text goes through the engine's substitution), not be
// a JSON array of strings (Tekton reads a custom task's result of that
// form as an array, which changes the type of the consumer's parameter),
// and not itself look like a ref.
func Inline(v string, max int) bool {
	return len(v) <= max &&
		utf8.ValidString(v) &&
		!strings.HasSuffix(v, "\n") &&
		!strings.Contains(v, "{{") &&
		!strings.Contains(v, "$(") &&
		!strings.HasPrefix(v, casPrefix) &&
		!stringArray(v) &&
		quotable(v)
}

// stringArray reports whether Tekton reads v, a custom task's result, as
// an array: a non-empty JSON array of strings
// (pipelinerun/resources.paramValueFromCustomRunResult).
func stringArray(v string) bool {
	var a []string
	return json.Unmarshal([]byte(v), &a) == nil && len(a) > 0
}

// quotable reports whether v survives being written as a Go-quoted string
// and read back as JSON, as Argo passes parameters: not so for control
// characters other than \b \f \n \r \t, DEL, or runes strconv.Quote
// escapes as \U.
func quotable(v string) bool {
	var back string
	return json.Unmarshal([]byte(strconv.Quote(v)), &back) == nil && back == v
}
