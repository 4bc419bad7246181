// Package step executes one resolved step: inputs in, cache check, run or
// short-circuit, outputs out. The local runner calls it for every step it
// schedules, and the in-pod launcher calls it for the one step its pod
// runs, so a cache hit means the same thing everywhere.
//
// A Task is a step with every value placeholder already replaced; only the
// placeholders that name paths (inputs.artifacts.*, outputs.*,
// steps.*.outputs.artifacts.*) are left, because paths depend on where the
// step runs while the cache key must not. The key hashes those placeholders
// as written and the digests of the input artifacts instead.
package step
