// Package plugins holds Sluice's extension points.
//
// Subpackages:
//
//   - store: the github.com/hashicorp/go-plugin protocol for cache stores
//     that run out of process, so a team can back Sluice's cache with its
//     own system without rebuilding Sluice
//     (--cache plugin:///path/to/binary?arg=…).
package plugins
