package main

import (
	"maps"
	"slices"
)

// registry holds the values of one kind (compile targets, cache plugin
// servers, installable components) by name, each registered from its own
// file's init, so that adding one touches nothing else.
type registry[T any] struct {
	kind string // for the panic on a name registered twice
	m    map[string]T
}

func newRegistry[T any](kind string) *registry[T] {
	return &registry[T]{kind: kind, m: map[string]T{}}
}

// add registers v under name; two under one name is a programming error.
func (r *registry[T]) add(name string, v T) {
	if _, dup := r.m[name]; dup {
		panic("sluice: " + r.kind + " " + name + " registered twice")
	}
	r.m[name] = v
}

// get returns the value registered under name.
func (r *registry[T]) get(name string) (T, bool) {
	v, ok := r.m[name]
	return v, ok
}

// names returns the registered names, sorted.
func (r *registry[T]) names() []string { return slices.Sorted(maps.Keys(r.m)) }
