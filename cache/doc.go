// Package cache is the step cache every Sluice backend shares: the cache
// key, the Store interface with its two halves (action-cache entries and
// content-addressed blobs), the filesystem store, and the helpers that move
// artifacts in and out of a store.
//
// # The key
//
// A step's Key is ComputeKey of its Components: the image (by digest where
// pinned), command, args with every value placeholder resolved, env,
// working directory, declared outputs, input parameter values, input
// artifact digests and the step's cache salt. A variable taken from a
// secret enters by "secretName/key@version", never by value. The key
// leaves out what cannot change a step's outputs: resources, retries,
// timeouts, scheduling and the step's name, so renaming a step or giving it
// more memory still hits. The encoding is length-prefixed, starts with
// KeyVersion and is order-independent where order means nothing (maps,
// env names, output lists); a test pins a golden value.
//
// ComputeKey is the only place a key is made: the local runner, the in-pod
// launcher and the engine plugins all call it, so a hit on one backend is a
// hit on all. An Entry keeps its Components, so Components.Diff can tell a
// user which component changed since the step last ran.
//
// # Artifacts
//
// An artifact is a blob named by its SHA-256 Digest and passed between
// steps as a URI carrying that digest (ArtifactRef.URI):
// cas://sha256/<hex>?kind=file&size=N. A file is stored byte for byte
// (KindFile). A directory (KindDir) is stored as a tar stream that depends
// only on the tree's names, types, permission bits and contents:
//
//   - entries in depth-first order, each directory's entries sorted by
//     name (bytewise), a directory before its contents, no entry for the
//     root itself;
//   - names relative and slash-separated, directories ending in "/";
//   - only regular files, directories and symlinks; a symlink must be
//     relative and stay inside the tree; sockets, pipes and devices are
//     rejected;
//   - mode is the permission bits only; mtime is the Unix epoch; uid, gid,
//     user and group names are empty; ustar headers, with pax records only
//     where a name needs them.
//
// So the same tree gives the same digest on any machine, whatever its
// timestamps or owners. GetPath extracts only that shape: clean relative
// names, parents before children, no symlink out of the tree, all through
// an os.Root.
//
// # The filesystem store
//
// FSStore, the default (DefaultDir), lays a directory out as
//
//	<root>/ac/<key hex>.json   entries, one JSON file each
//	<root>/cas/sha256/<hex>    blobs, read-only
//	<root>/tmp/                files being written
//
// Every write goes to a new file in tmp/ (same filesystem) and is then
// renamed into place, so a reader sees a whole file or none, and several
// processes can share one root: two writers of the same blob rename
// identical content over each other. A killed process never leaves a
// partial file under ac/ or cas/; leftovers in tmp/ are removed after a
// day. Writes are not fsynced: after a power loss a file may come back
// empty or torn, and that is caught where it matters instead of paid for
// on every write — a blob is checked against its digest when read, an
// entry that does not decode is corrupt, and both are then misses. Entries are written after the blobs they
// name, and readers treat an entry whose blob is missing or corrupt as a
// miss. A corrupt entry or blob is removed when it is found.
//
// Other stores register an Opener for their URL scheme with Register, and
// run the conformance suite in package storetest.
package cache
