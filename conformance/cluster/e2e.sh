#!/usr/bin/env bash
# make e2e: a whole single-node cluster from nothing (cluster.sh up), an S3
# store for the cache on 127.0.0.1, the conformance suite played on local,
# Argo and Tekton with real pods, and everything stopped again by PID, even
# on failure (cluster.sh down).
#
#   conformance/cluster/e2e.sh [go test flags...]
#
# Environment: SLUICE_E2E_STATE (default /tmp/sluice-e2e), SLUICE_E2E_CACHE
# (built binaries, kept by version), SLUICE_CONFORMANCE (backends, default
# local,argo,tekton), SLUICE_CONFORMANCE_REPORT (write the matrix there as
# Markdown), SLUICE_E2E_KEEP=1 (leave the cluster up afterwards).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${SLUICE_E2E_STATE:-/tmp/sluice-e2e}
export SLUICE_E2E_STATE=$STATE

S3_ACCESS=sluice-e2e
S3_SECRET=sluice-e2e-secret-key
S3_BUCKET=sluice
NS=sluice
SECRET=sluice-cache
GATEWAY=10.88.0.1 # cluster.sh's pod network gateway

log() { printf '[%s] e2e: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  local rc=$?
  if [[ -f $STATE/pids/s3.pid ]]; then
    kill "$(cat "$STATE/pids/s3.pid")" 2>/dev/null || true
    rm -f "$STATE/pids/s3.pid"
  fi
  if [[ ${SLUICE_E2E_KEEP:-} == 1 ]]; then
    log "cluster left up (SLUICE_E2E_KEEP=1): $HERE/cluster.sh down stops it"
  else
    bash "$HERE/cluster.sh" down || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT

start=$SECONDS
bash "$HERE/cluster.sh" up
log "cluster up in $((SECONDS - start))s"
# shellcheck source=/dev/null
source "$STATE/images.env" # KUBECTL, KUBECONFIG, LAUNCHER_IMAGE, BUSYBOX_IMAGE
export KUBECONFIG
[[ -n ${LAUNCHER_IMAGE:-} ]] || { log "no launcher image (make image failed)"; exit 1; }
k() { "$KUBECTL" "$@"; }

# The cases run busybox:1.36: the local busybox image under that name.
ctr --address "$STATE/containerd/containerd.sock" -n k8s.io images tag --force \
  "$BUSYBOX_IMAGE" docker.io/library/busybox:1.36 >/dev/null

# The store: versitygw (hack/s3-server.sh builds it once) on 127.0.0.1,
# forwarded to the pod network's gateway so that one URL reaches it from
# the host, from hostNetwork pods and from pods in their own network (the
# cache plugins).
s3=$("$REPO/hack/s3-server.sh")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$STATE/s3/data" "$STATE/s3/meta" "$STATE/logs" "$STATE/pids"
env -i PATH="$PATH" HOME="$STATE/s3" "$s3" --access "$S3_ACCESS" --secret "$S3_SECRET" \
  --port "127.0.0.1:$port" --quiet posix --sidecar "$STATE/s3/meta" "$STATE/s3/data" \
  >"$STATE/logs/s3.log" 2>&1 &
echo $! >"$STATE/pids/s3.pid"
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done
empty=$(printf '' | sha256sum | cut -d' ' -f1)
curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS:$S3_SECRET" \
  -H "x-amz-content-sha256: $empty" -X PUT "http://127.0.0.1:$port/$S3_BUCKET" >/dev/null
bash "$HERE/cluster.sh" forward "$port"
endpoint=$GATEWAY:$port
log "S3 store on 127.0.0.1:$port, reached as $endpoint (log $STATE/logs/s3.log)"

k create namespace "$NS" --dry-run=client -o yaml | k apply -f - >/dev/null
k -n "$NS" create secret generic "$SECRET" --from-literal=accesskey="$S3_ACCESS" \
  --from-literal=secretkey="$S3_SECRET" --dry-run=client -o yaml | k apply -f - >/dev/null

# The cache plugins, as an admin installs them: Argo's executor plugin in
# the runs' namespace (the controller runs with ARGO_EXECUTOR_PLUGINS=true),
# Tekton's CachedStep controller as a Deployment, both in the image that
# `make image` built.
(cd "$REPO" && make --no-print-directory build >/dev/null)
[[ -n ${PLUGIN_IMAGE:-} ]] || { log "no plugin image (make image failed)"; exit 1; }
"$REPO/bin/sluice" install argo-plugin -n "$NS" --image "$PLUGIN_IMAGE" --workflow-service-account default | k apply -f - >/dev/null
plugin_ns=sluice-system
"$REPO/bin/sluice" install tekton-plugin -n "$plugin_ns" --image "$PLUGIN_IMAGE" | k apply -f - >/dev/null
if ! k -n "$plugin_ns" wait --for=condition=Available deployment --all --timeout=120s >/dev/null; then
  k -n "$plugin_ns" get pods -o wide >&2 || true
  k -n "$plugin_ns" logs deployment --all-containers --tail=50 >&2 || true
  log "the Tekton cache plugin did not become available"
  exit 1
fi
log "cache plugins installed (Argo executor plugin in $NS, Tekton controller in $plugin_ns)"

export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET
export SLUICE_CONFORMANCE=${SLUICE_CONFORMANCE:-local,argo,tekton,argo-plugin,tekton-plugin}
export SLUICE_CONFORMANCE_NAMESPACE=$NS
export SLUICE_CONFORMANCE_STORE="s3://$S3_BUCKET/e2e?endpoint=$endpoint&insecure=true&region=us-east-1"
export SLUICE_CONFORMANCE_SECRET=$SECRET
export SLUICE_CONFORMANCE_IMAGE=$LAUNCHER_IMAGE
log "playing the conformance cases on $SLUICE_CONFORMANCE"
cd "$REPO"
played=$SECONDS
rc=0
# TestPluginDown last: it takes the cache plugins down for a while.
SLUICE_PLUGIN_FAULTS=1 go test -tags conformance ./conformance -run 'TestBackends|TestSharedStore|TestPluginDown' \
  -count=1 -v -timeout 60m "$@" || rc=$?
log "conformance played in $((SECONDS - played))s (exit $rc); whole e2e $((SECONDS - start))s"
exit "$rc"
