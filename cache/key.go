package cache

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// KeyVersion is hashed first into every Key. Changing what a key covers or
// how it is encoded means changing this string, so old entries simply miss
// instead of being misread.
const KeyVersion = "sluice-cache-key/v1"

// Key is a step's action-cache key: the SHA-256 of its Components. It is a
// different type from Digest, as cmd/go keeps ActionID apart from
// OutputID: a Key names a computation, a Digest names content.
type Key [32]byte

// String returns the key as 64 lowercase hex digits.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// IsZero reports whether k is the zero Key, which ComputeKey never returns
// in practice and which marks "no key".
func (k Key) IsZero() bool { return k == Key{} }

// MarshalText encodes k as its String form, so JSON carries the string.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes the String form.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKey parses the String form: 64 lowercase hex digits.
func ParseKey(s string) (Key, error) {
	b, err := parseHex32(s)
	if err != nil {
		return Key{}, fmt.Errorf("parse key %q: %w", s, err)
	}
	return Key(b), nil
}

// Components are everything a step's cache key covers: whatever can change
// the step's outputs, and nothing else. Resources, retries, timeouts,
// scheduling and the step's name are deliberately absent, so that renaming
// a step or giving it more memory still hits.
//
// Nil and empty slices and maps are the same value here. Env is keyed in
// name order; the order of Outputs lists does not matter either.
type Components struct {
	// Image is the container image, by digest where it is pinned.
	Image string `json:"image"`
	// Command and Args are the resolved argv: every value placeholder
	// already replaced.
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env is the step's environment.
	Env        []EnvVar `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	// Outputs are the declared outputs: a step that declares one more
	// output must not hit an entry that lacks it.
	Outputs Outputs `json:"outputs"`
	// Params are the input parameter values by name.
	Params map[string]string `json:"params,omitempty"`
	// Artifacts are the input artifacts' digests by name: an artifact
	// enters the key by content, never by where it was stored.
	Artifacts map[string]Digest `json:"artifacts,omitempty"`
	// Salt is the step's cache salt, bumped by a user to force a miss.
	Salt string `json:"salt,omitempty"`
}

// EnvVar is one environment variable as the key sees it. A plain variable
// has Value; a variable taken from a secret has Secret instead, naming the
// secret as "secretName/key@version". A secret's value never enters the
// key, nor an Entry, nor any log: rotating a secret changes its version,
// and that is what misses.
type EnvVar struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// Outputs are a step's declared outputs.
type Outputs struct {
	// Params are "name:type", as "rows:integer".
	Params []string `json:"params,omitempty"`
	// Artifacts are artifact names.
	Artifacts []string `json:"artifacts,omitempty"`
}

// ComputeKey returns the cache key for c. It is the one function every
// backend calls, so a hit on one backend is a hit on all.
//
// The hash covers KeyVersion and then each component in a fixed order,
// every string prefixed by its length as 8 bytes big-endian and every list
// and map by its element count, so no two different Components encode
// alike. Maps are encoded in sorted key order, Env in stable name order and
// Outputs lists sorted.
func ComputeKey(c Components) Key {
	var e encoder
	e.str(KeyVersion)
	e.field("image").str(c.Image)
	e.field("command").strs(c.Command)
	e.field("args").strs(c.Args)
	env := sortedEnv(c.Env)
	e.field("env").count(len(env))
	for _, v := range env {
		e.str(v.Name).str(v.Value).str(v.Secret)
	}
	e.field("workingDir").str(c.WorkingDir)
	e.field("outputs.params").strs(sorted(c.Outputs.Params))
	e.field("outputs.artifacts").strs(sorted(c.Outputs.Artifacts))
	e.field("params").count(len(c.Params))
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		e.str(k).str(c.Params[k])
	}
	e.field("artifacts").count(len(c.Artifacts))
	for _, k := range slices.Sorted(maps.Keys(c.Artifacts)) {
		d := c.Artifacts[k]
		e.str(k).raw(d[:])
	}
	e.field("salt").str(c.Salt)
	return Key(sha256.Sum256(e.buf))
}

// encoder builds the length-prefixed encoding ComputeKey hashes.
type encoder struct{ buf []byte }

func (e *encoder) count(n int) *encoder {
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(n))
	return e
}

func (e *encoder) str(s string) *encoder {
	e.count(len(s))
	e.buf = append(e.buf, s...)
	return e
}

// raw appends fixed-size data, which needs no length.
func (e *encoder) raw(b []byte) *encoder {
	e.buf = append(e.buf, b...)
	return e
}

func (e *encoder) strs(ss []string) *encoder {
	e.count(len(ss))
	for _, s := range ss {
		e.str(s)
	}
	return e
}

// field names the component that follows; names make the encoding
// self-describing and keep it unambiguous when components are added.
func (e *encoder) field(name string) *encoder { return e.str(name) }

// sortedEnv orders env by name, keeping the relative order of repeated
// names, since the last of those is the one a process sees.
func sortedEnv(env []EnvVar) []EnvVar {
	env = slices.Clone(env)
	slices.SortStableFunc(env, func(a, b EnvVar) int { return cmp.Compare(a.Name, b.Name) })
	return env
}

func sorted(ss []string) []string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return ss
}

// Diff returns the names of the components in which c differs from old,
// in a stable order: "image", "command", "args", "env.<NAME>",
// "workingDir", "outputs.params", "outputs.artifacts", "params.<name>",
// "artifacts.<name>", "salt". It is empty exactly when both have the same
// Key, and it is how `sluice cache explain` tells a user why a step missed.
func (c Components) Diff(old Components) []string {
	var diff []string
	add := func(name string, differ bool) {
		if differ {
			diff = append(diff, name)
		}
	}
	add("image", c.Image != old.Image)
	// Lists name the first element that differs: "args[3]".
	list := func(name string, a, b []string) {
		for i := range max(len(a), len(b)) {
			if i >= len(a) || i >= len(b) || a[i] != b[i] {
				add(fmt.Sprintf("%s[%d]", name, i), true)
				return
			}
		}
	}
	list("command", c.Command, old.Command)
	list("args", c.Args, old.Args)
	newEnv, oldEnv := envByName(c.Env), envByName(old.Env)
	for _, name := range unionKeys(newEnv, oldEnv) {
		add("env."+name, !slices.Equal(newEnv[name], oldEnv[name]))
	}
	add("workingDir", c.WorkingDir != old.WorkingDir)
	add("outputs.params", !slices.Equal(sorted(c.Outputs.Params), sorted(old.Outputs.Params)))
	add("outputs.artifacts", !slices.Equal(sorted(c.Outputs.Artifacts), sorted(old.Outputs.Artifacts)))
	for _, name := range unionKeys(c.Params, old.Params) {
		v, ok := c.Params[name]
		ov, ook := old.Params[name]
		add("params."+name, v != ov || ok != ook)
	}
	for _, name := range unionKeys(c.Artifacts, old.Artifacts) {
		d, ok := c.Artifacts[name]
		od, ook := old.Artifacts[name]
		add("artifacts."+name, d != od || ok != ook)
	}
	add("salt", c.Salt != old.Salt)
	return diff
}

func envByName(env []EnvVar) map[string][]EnvVar {
	m := make(map[string][]EnvVar, len(env))
	for _, v := range env {
		m[v.Name] = append(m[v.Name], v)
	}
	return m
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
