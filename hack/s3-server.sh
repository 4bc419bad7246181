#!/usr/bin/env bash
# Installs the S3 server that the cache/s3 tests and benchmarks run against
# (versitygw, built from the Go module proxy) and prints the binary's path:
#
#   export SLUICE_S3_SERVER=$(hack/s3-server.sh)
#   go test -race ./cache/...
#
# The binary is kept in a directory named by its version under
# ${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}, so a second run only prints the
# path; a CI cache of that directory skips the build. The build goes to a
# temporary directory first, so an interrupted build never leaves a broken
# binary behind. Build output goes to stderr; stdout is only the path.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0

tools=${SLUICE_TOOLS:-$HOME/.cache/sluice-tools}
dir=$tools/versitygw-$VERSITYGW_VERSION
bin=$dir/versitygw

if [[ ! -x $bin ]]; then
  mkdir -p "$tools"
  tmp=$(mktemp -d "$tools/.versitygw-build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building versitygw $VERSITYGW_VERSION into $dir (a few minutes the first time)" >&2
  # Outside any module, so the project's go.mod plays no part; CGO off for a
  # static binary that runs on any CI image.
  (cd "$tmp" && GOBIN=$tmp/bin CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2
  mkdir -p "$dir"
  mv "$tmp/bin/versitygw" "$bin.new"
  mv "$bin.new" "$bin"
fi
echo "$bin"
