// Package store runs a cache store out of process, as a
// github.com/hashicorp/go-plugin plugin speaking gRPC.
//
// A store plugin is a program that calls Serve with its cache.Store:
//
//	func main() { store.Serve(myStore) }
//
// Sluice starts it for a cache URL of the plugin scheme, with the query's
// arg values as its command-line arguments, in order:
//
//	sluice run pipeline.yaml --cache 'plugin:///usr/local/bin/sluice-store-fs?arg=/var/cache/team'
//
// The URL's other query keys: timeout, how long one entry or stat call
// may take before it counts as a store fault (default 10s; a blob's
// transfer is bounded only by the caller's context); start_timeout, how
// long the plugin may take to start (default 10s).
//
// The protocol (proto/store.proto) mirrors cache.Store: entries travel as
// the JSON every store keeps, blobs as streams of chunks. Handshake
// versions it: a host and a plugin with different protocol versions
// refuse each other at start, with a message naming both. The client
// checks what the plugin says: a blob's digest is recomputed as it is
// uploaded and as it is read back, and an entry must carry the key it
// was asked for, so a faulty plugin costs cache misses, never wrong
// outputs.
//
// Importing this package registers the plugin scheme with cache.Open.
// The example directory holds a complete plugin, a store in a directory.
package store

//go:generate make -C ../.. proto
