// Command sluice-image builds the launcher image without Docker: the
// static sluice-exec binary at /sluice-exec, alone on an empty base, with
// /sluice-exec as its entrypoint. The adapters' init container runs it as
// `sluice-exec cp /sluice-exec /sluice/bin/sluice-exec` to put the launcher
// into a volume shared with the step's container.
//
//	sluice-image --binary bin/sluice-exec --version v0.1.0 \
//	    [--ref ghcr.io/sluice-dev/sluice-exec:v0.1.0] [--arch amd64] \
//	    [--format docker|oci] [--output bin/sluice-exec-image.tar]
//
// The default format, docker, is a docker-archive tarball (manifest.json
// and the image's blobs), which `ctr images import`, `docker load`,
// `kind load image-archive` and `k3d image import` all read. The oci
// format writes an OCI image layout directory instead, for skopeo, crane
// and registries' own tools. Either way the image uses OCI media types,
// its layer's file has mode 0755, owner 0:0 and the Unix epoch as mtime,
// and the image's creation time is SOURCE_DATE_EPOCH (or the epoch), so
// the same binary always gives the same image digest.
//
// The binary must be a static ELF executable for the image's architecture:
// a dynamically linked launcher would not start in images without the
// matching C library. Only this builder links go-containerregistry; the
// launcher itself links none of it.
package main
