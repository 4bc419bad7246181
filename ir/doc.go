// Package ir is Sluice's engine-neutral pipeline: the types of the pipeline
// file (sluice.dev/v1alpha1, kind Pipeline), strict parsing that remembers
// the line and column of every node, defaults, validation that reports
// every problem at once with its place, placeholders and `when`
// expressions, the dependency graph, parameter overrides and the canonical
// encoding.
//
// ir imports only the standard library and a YAML decoder. Every other
// package imports ir; ir imports none of them.
//
// The usual entry point is Load (or Parse for bytes in memory): it decodes,
// applies spec.defaults and validates. A pipeline that Load returns without
// error is safe to hand to any backend.
package ir
