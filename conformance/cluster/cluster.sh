#!/usr/bin/env bash
# Builds, starts and stops a whole single-node Kubernetes cluster with the
# real Argo Workflows and Tekton Pipelines controllers on 127.0.0.1 of this
# machine, from nothing: binaries come from the Go module proxy, packages from
# Debian, images are built locally. See README.md beside this file.
#
#   cluster.sh build    build (or find in the cache) every binary and image
#   cluster.sh up       build, start everything, wait until Ready, smoke check
#   cluster.sh smoke    run the smoke check against a running cluster
#   cluster.sh down     stop everything `up` started and clean the machine
#   cluster.sh forward PORT  make 127.0.0.1:PORT reachable from pods as 10.88.0.1:PORT
#   cluster.sh status   show what runs
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

CACHE=${SLUICE_E2E_CACHE:-$HOME/.cache/sluice-e2e}
STATE=${SLUICE_E2E_STATE:-/tmp/sluice-e2e}
GO=${GO:-go}

# Pinned versions: the module proxy refuses @latest for most of these. The
# argo-workflows, tektoncd/pipeline and k8s.io/* ones match the repo's go.mod.
ETCD_VERSION=v3.6.8
K8S_VERSION=v1.36.3
K8S_STAGING_VERSION=v0.36.3
ARGO_VERSION=v3.7.18
TEKTON_VERSION=v1.15.1

KUBECONFIG_PATH=$STATE/kubeconfig
LOGS=$STATE/logs
PIDS=$STATE/pids
export GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- builds

# scratch_module DIR NAME: an empty module to build other modules' commands in.
scratch_module() {
  mkdir -p "$1"
  printf 'module sluice.local/e2e/%s\n\ngo 1.26\n' "$2" >"$1/go.mod"
  : >"$1/go.sum"
}

# timed NAME CMD...: run CMD, record its wall time in $CACHE/build-times.
timed() {
  local name=$1 start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  printf '%s %ss %s\n' "$name" "$((end - start))" "$(date -u +%FT%TZ)" >>"$CACHE/build-times"
  log "built $name in $((end - start))s"
}

gobuild() { nice -n 10 "$GO" build -mod=mod "$@"; }

K8S_DIR=$CACHE/kubernetes-$K8S_VERSION
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

build_k8s_module() {
  local src=$K8S_DIR/src gomod staging m
  [[ -s $src/.ready ]] && return 0
  scratch_module "$src" kubernetes
  gomod=$(cd "$src" && "$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
  # Every staging module that k8s.io/kubernetes replaces with ./staging/...
  # is published as k8s.io/<name> v0.<minor>.<patch>; sample-cli-plugin is not.
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#\1#p' "$gomod" |
    grep -v '^k8s.io/sample-cli-plugin$')
  {
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$K8S_STAGING_VERSION"; done
    printf ')\n'
  } >>"$src/go.mod"
  echo ok >"$src/.ready"
}

build_k8s_one() {
  local cmd=$1 pkg=k8s.io/kubernetes/cmd/$1 v=$K8S_VERSION ld
  local minor=${v#v1.}
  minor=${minor%%.*}
  ld="-s -w"
  local p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$K8S_DIR/src" && gobuild -ldflags "$ld" -o "$K8S_DIR/bin/$cmd.tmp" "$pkg")
  mv "$K8S_DIR/bin/$cmd.tmp" "$K8S_DIR/bin/$cmd"
}

build_k8s() {
  local c
  for c in "${K8S_CMDS[@]}"; do
    [[ -x $K8S_DIR/bin/$c ]] && continue
    mkdir -p "$K8S_DIR/bin"
    build_k8s_module
    timed "$c" build_k8s_one "$c"
  done
}


# module_dir MODULE VERSION: download MODULE@VERSION, print its directory.
module_dir() {
  local dir
  dir=$(cd "$CACHE" && GOFLAGS='' "$GO" mod download -json "$1@$2" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || die "cannot download $1@$2"
  printf '%s\n' "$dir"
}

# copy_module MODULE VERSION DEST: a writable copy of MODULE@VERSION, to build
# its commands as the main module, so that its own replace directives apply.
copy_module() {
  local dir
  dir=$(module_dir "$1" "$2")
  rm -rf "$3"
  mkdir -p "$(dirname "$3")"
  cp -r "$dir" "$3"
  chmod -R u+w "$3"
}

ETCD_DIR=$CACHE/etcd-$ETCD_VERSION
build_etcd() {
  [[ -x $ETCD_DIR/bin/etcd ]] && return 0
  scratch_module "$ETCD_DIR/src" etcd
  mkdir -p "$ETCD_DIR/bin"
  (cd "$ETCD_DIR/src" && "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    timed etcd gobuild -ldflags "-s -w" -o "$ETCD_DIR/bin/etcd" go.etcd.io/etcd/server/v3)
}

ARGO_DIR=$CACHE/argo-workflows-$ARGO_VERSION
ARGO_CMDS=(workflow-controller argoexec)
build_argo() {
  local src=$ARGO_DIR/src c
  [[ -x $ARGO_DIR/bin/workflow-controller && -x $ARGO_DIR/bin/argoexec ]] && return 0
  if [[ ! -f $src/.ready ]]; then
    copy_module github.com/argoproj/argo-workflows/v3 "$ARGO_VERSION" "$src"
    # The module zip has no workflow/executor/osspecific/signal_linux.go
    # (upstream it is a symbolic link, which module zips leave out), so the
    # executor does not build for linux. The functions it must provide:
    cat >"$src/workflow/executor/osspecific/signal_linux.go" <<'GO'
// Added by sluice's conformance/cluster/cluster.sh: the module zip lacks this
// file. Signals go to the child's process group, as on darwin.
package osspecific

import (
	"os"
	"syscall"
	"time"

	"github.com/argoproj/argo-workflows/v3/util/errors"
)

var Term = syscall.SIGTERM

func CanIgnoreSignal(s os.Signal) bool { return s == syscall.SIGCHLD || s == syscall.SIGURG }

func Kill(pid int, s syscall.Signal) error {
	if pgid, err := syscall.Getpgid(pid); err == nil {
		return syscall.Kill(-pgid, s)
	}
	return syscall.Kill(pid, s)
}

func Setpgid(a *syscall.SysProcAttr) { a.Setpgid = true }

// Wait reaps the released process (and any other child) and returns its
// exit status as an ExitErr, like Kubernetes treats PID 1.
func Wait(process *os.Process) error {
	pid := process.Pid
	if err := process.Release(); err != nil {
		return err
	}
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err != nil {
			return err
		}
		if got == pid {
			switch {
			case ws.Exited():
				return errors.NewExitErr(ws.ExitStatus())
			case ws.Signaled():
				return errors.NewExitErr(128 + int(ws.Signal()))
			}
		}
		time.Sleep(time.Second)
	}
}
GO
    # The controller serves /healthz on ":6060", every interface: keep it on
    # the loopback.
    sed -i 's/http.ListenAndServe(":6060"/http.ListenAndServe("127.0.0.1:6060"/' \
      "$src/cmd/workflow-controller/main.go"
    grep -q '"127.0.0.1:6060"' "$src/cmd/workflow-controller/main.go" ||
      die "argo: cannot patch the :6060 listener"
    echo ok >"$src/.ready"
  fi
  mkdir -p "$ARGO_DIR/bin"
  for c in "${ARGO_CMDS[@]}"; do
    [[ -x $ARGO_DIR/bin/$c ]] && continue
    (cd "$src" && timed "$c" gobuild \
      -ldflags "-s -w -X github.com/argoproj/argo-workflows/v3.version=$ARGO_VERSION" \
      -o "$ARGO_DIR/bin/$c.tmp" "./cmd/$c")
    mv "$ARGO_DIR/bin/$c.tmp" "$ARGO_DIR/bin/$c"
  done
}

TEKTON_DIR=$CACHE/tekton-pipeline-$TEKTON_VERSION
TEKTON_CMDS=(controller entrypoint nop sidecarlogresults workingdirinit)
build_tekton() {
  local src=$TEKTON_DIR/src kn=$TEKTON_DIR/knative-pkg knver c missing=0
  for c in "${TEKTON_CMDS[@]}"; do [[ -x $TEKTON_DIR/bin/$c ]] || missing=1; done
  [[ $missing == 0 ]] && return 0
  if [[ ! -f $src/.ready ]]; then
    copy_module github.com/tektoncd/pipeline "$TEKTON_VERSION" "$src"
    # The readiness server listens on ":"+PROBES_PORT, and knative's pprof
    # and probes servers on ":"+PROFILING_PORT and ":8080": every interface,
    # whatever the configuration. Keep them all on the loopback (knative.dev/pkg
    # is copied at the version Tekton requires, and replaced by the copy).
    sed -i 's/http.ListenAndServe(":"+port, mux)/http.ListenAndServe("127.0.0.1:"+port, mux)/' \
      "$src/cmd/controller/main.go"
    grep -q '"127.0.0.1:"+port' "$src/cmd/controller/main.go" ||
      die "tekton: cannot patch the probes listener"
    knver=$(awk '$1 == "knative.dev/pkg" { print $2; exit }' "$src/go.mod")
    copy_module knative.dev/pkg "$knver" "$kn"
    sed -i 's/Addr:[[:space:]]*":" + port,/Addr: "127.0.0.1:" + port,/' \
      "$kn/observability/runtime/pprof.go" "$kn/profiling/server.go"
    # knative's own probes server: ":8080", fixed; move it to 127.0.0.1:18081.
    sed -i -e 's/Addr: ":" + strconv.Itoa(port)/Addr: "127.0.0.1:" + strconv.Itoa(port)/' \
      -e 's/HealthCheckDefaultPort = 8080/HealthCheckDefaultPort = 18081/' "$kn/injection/health_check.go"
    grep -q '"127.0.0.1:" + port' "$kn/observability/runtime/pprof.go" ||
      die "tekton: cannot patch knative's pprof listener"
    grep -q '"127.0.0.1:" + strconv.Itoa(port)' "$kn/injection/health_check.go" ||
      die "tekton: cannot patch knative's probes listener"
    printf '\nreplace knative.dev/pkg => ../knative-pkg\n' >>"$src/go.mod"
    echo ok >"$src/.ready"
  fi
  mkdir -p "$TEKTON_DIR/bin"
  for c in "${TEKTON_CMDS[@]}"; do
    [[ -x $TEKTON_DIR/bin/$c ]] && continue
    (cd "$src" && timed "tekton-$c" gobuild -ldflags "-s -w" -o "$TEKTON_DIR/bin/$c.tmp" "./cmd/$c")
    mv "$TEKTON_DIR/bin/$c.tmp" "$TEKTON_DIR/bin/$c"
  done
}

# The image tool and the pause binary are this repo's own code, built with
# the repo's go.mod (go-containerregistry is a dependency already).
tools_key() {
  cat "$HERE/mkimage/main.go" "$HERE/pause/main.go" | sha256sum | cut -c1-12
}
TOOLS_DIR=
build_tools() {
  TOOLS_DIR=$CACHE/tools-$(tools_key)
  [[ -x $TOOLS_DIR/mkimage && -x $TOOLS_DIR/pause ]] && return 0
  mkdir -p "$TOOLS_DIR"
  (cd "$REPO" && GOFLAGS="-trimpath -buildvcs=false" timed tools nice -n 10 "$GO" build \
    -ldflags "-s -w" -o "$TOOLS_DIR/" ./conformance/cluster/mkimage ./conformance/cluster/pause)
}

# Images the pods run; none can be pulled here.
IMG_PREFIX=sluice-e2e.local
BUSYBOX_IMAGE=$IMG_PREFIX/busybox:latest-static
PAUSE_IMAGE=$IMG_PREFIX/pause:1
ARGOEXEC_IMAGE=$IMG_PREFIX/argoexec:$ARGO_VERSION
tekton_image() { printf '%s/tekton/%s:%s\n' "$IMG_PREFIX" "$1" "$TEKTON_VERSION"; }
IMAGES_DIR=
build_images() {
  local bbver key c links=() a
  bbver=$(dpkg-query -W -f='${Version}' busybox-static)
  # Keyed by the inputs: a rebuilt binary makes new images.
  key=$({
    printf '%s\n' "$bbver" "$ARGO_VERSION" "$TEKTON_VERSION"
    stat -c '%n %s %Y' "$TOOLS_DIR/mkimage" "$TOOLS_DIR/pause" "$ARGO_DIR/bin/argoexec" \
      "$TEKTON_DIR"/bin/{entrypoint,nop,sidecarlogresults,workingdirinit}
  } | sha256sum | cut -c1-12)
  IMAGES_DIR=$CACHE/images-$key
  [[ -f $IMAGES_DIR/.done ]] && return 0
  mkdir -p "$IMAGES_DIR"
  local t0
  t0=$(date +%s)
  local etc=$IMAGES_DIR/etc
  mkdir -p "$etc"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' >"$etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$etc/group"
  local base=(--file "$etc/passwd=/etc/passwd:0644" --file "$etc/group=/etc/group:0644" --dir /tmp:1777 --dir /root:0700 --dir /home/nonroot:0755)
  # busybox with every applet as a link, where Debian's busybox puts it.
  for a in $(/bin/busybox --list-full); do
    [[ $a == bin/busybox ]] && continue
    links+=(--link "/$a=/bin/busybox")
  done
  "$TOOLS_DIR/mkimage" --ref "$BUSYBOX_IMAGE" --out "$IMAGES_DIR/busybox.tar" "${base[@]}" \
    --file /bin/busybox=/bin/busybox:0755 "${links[@]}" --cmd /bin/sh >/dev/null
  "$TOOLS_DIR/mkimage" --ref "$PAUSE_IMAGE" --out "$IMAGES_DIR/pause.tar" \
    --file "$TOOLS_DIR/pause=/pause:0755" --entrypoint /pause >/dev/null
  "$TOOLS_DIR/mkimage" --ref "$ARGOEXEC_IMAGE" --out "$IMAGES_DIR/argoexec.tar" "${base[@]}" \
    --file "$ARGO_DIR/bin/argoexec=/bin/argoexec:0755" --entrypoint argoexec >/dev/null
  for c in entrypoint nop sidecarlogresults workingdirinit; do
    "$TOOLS_DIR/mkimage" --ref "$(tekton_image "$c")" --out "$IMAGES_DIR/tekton-$c.tar" "${base[@]}" \
      --file "$TEKTON_DIR/bin/$c=/ko-app/$c:0755" --entrypoint "/ko-app/$c" \
      --env KO_DATA_PATH=/var/run/ko --dir /var/run/ko >/dev/null
  done
  touch "$IMAGES_DIR/.done"
  log "built images in $(($(date +%s) - t0))s"
}

# The launcher's image and the cache plugins' are the repo's own, rebuilt
# each time by `make image`.
LAUNCHER_IMAGE=
PLUGIN_IMAGE=
SLUICE_TARS=()
build_launcher() {
  if ! (cd "$REPO" && GOFLAGS="-buildvcs=false" make --no-print-directory image IMAGE_FORMAT=docker \
    >"$LOGS/make-image.log" 2>&1); then
    log "warning: 'make image' failed (see $LOGS/make-image.log): the launcher and plugin images are not imported"
    return 0
  fi
  SLUICE_TARS=("$REPO/bin/sluice-exec-image.tar" "$REPO/bin/sluice-image.tar")
  LAUNCHER_IMAGE=$(sed -n 's/^wrote \([^ ]*sluice-exec:[^ ]*\) .*/\1/p' "$LOGS/make-image.log" | tail -n 1)
  PLUGIN_IMAGE=$(sed -n 's/^wrote \([^ ]*\/sluice:[^ ]*\) .*/\1/p' "$LOGS/make-image.log" | tail -n 1)
}

# $STATE/images.env: the local images, for whoever runs pods on the cluster.
write_images_env() {
  {
    echo "BUSYBOX_IMAGE=$BUSYBOX_IMAGE"
    echo "PAUSE_IMAGE=$PAUSE_IMAGE"
    echo "ARGOEXEC_IMAGE=$ARGOEXEC_IMAGE"
    echo "LAUNCHER_IMAGE=$LAUNCHER_IMAGE"
    echo "PLUGIN_IMAGE=$PLUGIN_IMAGE"
    echo "KUBECTL=$K8S_DIR/bin/kubectl"
    echo "KUBECONFIG=$KUBECONFIG_PATH"
  } >"$STATE/images.env"
}

APT_PACKAGES=(containerd runc containernetworking-plugins busybox-static iptables conntrack openssl curl iproute2)
ensure_packages() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} == 0 ]] && return 0
  log "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_all() {
  mkdir -p "$CACHE"
  ensure_packages
  build_k8s
  build_etcd
  build_argo
  build_tekton
  build_tools
  build_images
}

# ---------------------------------------------------------------- runtime

# The node is named localhost: kubelet refuses a loopback --node-ip, so the API
# server reaches kubelet (logs, exec) through the node's Hostname address,
# which then resolves to 127.0.0.1 on any machine.
NODE=localhost
API=https://127.0.0.1:6443
CTRD_SOCK=$STATE/containerd/containerd.sock
BRIDGE=sluice-e2e0
POD_SUBNET=10.88.0.0/24
GATEWAY=10.88.0.1
SERVICE_RANGE=10.0.0.0/24
KUBERNETES_SERVICE_IP=10.0.0.1
ARGO_NS=argo
TEKTON_NS="tekton-pipelines"
# Kernel settings that kubelet changes when protectKernelDefaults is off;
# `up` saves them and `down` puts them back.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

kubectl() { "$K8S_DIR/bin/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
ctr_() { ctr --address "$CTRD_SOCK" -n k8s.io "$@"; }

# start NAME CMD...: start CMD in its own session, log to $LOGS/NAME.log.
start() {
  local name=$1
  shift
  log "starting $name"
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z ]]
}

alive() { [[ -f $PIDS/$1.pid ]] && running "$(cat "$PIDS/$1.pid")"; }

# stop NAME... : TERM the processes of NAMEs, KILL what still runs after
# $STOP_WAIT seconds.
STOP_WAIT=${STOP_WAIT:-15}
stop() {
  local name pid i left pids=()
  for name in "$@"; do
    [[ -f $PIDS/$name.pid ]] || continue
    pid=$(cat "$PIDS/$name.pid")
    if running "$pid"; then
      log "stopping $name ($pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$PIDS/$name.pid"
  done
  for ((i = 0; i < STOP_WAIT * 10; i++)); do
    left=0
    for pid in "${pids[@]}"; do running "$pid" && left=1; done
    [[ $left == 0 ]] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if running "$pid"; then
      log "killing $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# wait_for WHAT SECONDS CMD...: retry CMD until it succeeds.
wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "timed out after ${secs}s waiting for $what"
}

fail() {
  log "error: $*"
  exit 1
}

# show_logs: where each component logs, and the end of each log.
show_logs() {
  local f
  [[ -d $LOGS ]] || return 0
  log "component logs (last lines of each):"
  for f in "$LOGS"/*.log; do
    [[ -e $f ]] || continue
    printf '==> %s <==\n' "$f" >&2
    tail -n 15 "$f" >&2
  done
}

# on_up_exit: if `up` fails, show the logs, keep them in $STATE.failed-logs
# and take down what was started (SLUICE_E2E_KEEP=1 leaves it running).
on_up_exit() {
  local rc=$?
  trap - EXIT
  [[ $rc == 0 ]] && return 0
  show_logs
  if [[ ${SLUICE_E2E_KEEP:-} == 1 ]]; then
    log "up failed; SLUICE_E2E_KEEP=1: leaving it running, logs in $LOGS"
  else
    rm -rf "$STATE.failed-logs"
    cp -r "$LOGS" "$STATE.failed-logs" 2>/dev/null || true
    log "up failed: taking down what it started; logs kept in $STATE.failed-logs"
    down || true
  fi
  exit "$rc"
}

# ---- PKI and kubeconfigs

cert() { # NAME CN O EKU [SAN]
  local d=$STATE/pki
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/$1.key" -out "$d/$1.csr" -subj "/O=$3/CN=$2" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$4"
    [[ -n ${5:-} ]] && echo "subjectAltName=$5"
  } >"$d/$1.ext"
  openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
  rm -f "$d/$1.csr" "$d/$1.ext"
}

kubeconfig() { # FILE USER-CERT-NAME
  local d=$STATE/pki
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: $NODE
  cluster:
    server: $API
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 <"$d/$2.crt")
    client-key-data: $(base64 -w0 <"$d/$2.key")
contexts:
- name: $NODE
  context: {cluster: $NODE, user: $2}
current-context: $NODE
KC
  chmod 600 "$1"
}

make_pki() {
  local d=$STATE/pki
  mkdir -p "$d"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=sluice-e2e-ca" 2>/dev/null
  cert apiserver kube-apiserver sluice-e2e serverAuth \
    "IP:127.0.0.1,IP:${SERVICE_RANGE%.0/*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  cert admin sluice-e2e-admin system:masters clientAuth
  cert kubelet "system:node:$NODE" system:nodes clientAuth
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  kubeconfig "$KUBECONFIG_PATH" admin
  kubeconfig "$STATE/kubelet.kubeconfig" kubelet
}

# ---- configuration files

write_configs() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/pod-logs"
  cat >"$STATE/containerd/config.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CTRD_SOCK"

[ttrpc]
  address = "$CTRD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # The sandbox lacks CAP_SYS_RESOURCE to lower an oom_score_adj.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$STATE/runc"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
TOML
  # A bridge whose gateway is the host ($GATEWAY), with no masquerade: a
  # pod that is not hostNetwork reaches the host and nothing beyond it,
  # and on the host only what pod_network forwards from the loopback.
  cat >"$STATE/cni/net.d/10-sluice-e2e.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "sluice-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "isDefaultGateway": true,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
JSON
  cat >"$STATE/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://$CTRD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $STATE/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $STATE/pki/ca.crt}
authorization:
  mode: Webhook
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
maxPods: 110
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
}

# ---- the pod network

# Pods in their own network namespace (Argo's agent pod, the plugins'
# Deployments) reach what listens on the host's 127.0.0.1 the way
# kube-proxy makes a node's services reachable: by DNAT to the loopback,
# which route_localnet allows for packets that come in on $BRIDGE. Nothing
# listens beyond 127.0.0.1 for this; every rule carries the comment
# $IPT_TAG, so that `down` removes exactly these.
IPT_TAG=sluice-e2e
pod_network() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$GATEWAY/${POD_SUBNET#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw "net.ipv4.conf.$BRIDGE.route_localnet=1"
  # The kubernetes Service, as in-cluster clients find it.
  iptables -t nat -A PREROUTING -i "$BRIDGE" -d "$KUBERNETES_SERVICE_IP" -p tcp --dport 443 \
    -m comment --comment "$IPT_TAG" -j DNAT --to-destination 127.0.0.1:6443
}

# forward_port PORT: make 127.0.0.1:PORT reachable as $GATEWAY:PORT, from
# pods and from the host alike (the e2e store: one URL for every pod).
forward_port() {
  iptables -t nat -A PREROUTING -i "$BRIDGE" -d "$GATEWAY" -p tcp --dport "$1" \
    -m comment --comment "$IPT_TAG" -j DNAT --to-destination "127.0.0.1:$1"
  iptables -t nat -A OUTPUT -d "$GATEWAY" -p tcp --dport "$1" \
    -m comment --comment "$IPT_TAG" -j DNAT --to-destination "127.0.0.1:$1"
}

# unforward: remove every rule pod_network and forward_port added.
unforward() {
  local rule
  command -v iptables-save >/dev/null || return 0
  iptables-save -t nat | { grep -E -- "^-A .*--comment \"?$IPT_TAG\"? " || true; } | sed 's/^-A /-D /' |
    while read -r rule; do eval "iptables -t nat $rule" || true; done
}

# ---- components

start_etcd() {
  start etcd "$ETCD_DIR/bin/etcd" --name "$NODE" --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE=http://127.0.0.1:2380" --unsafe-no-fsync
}

start_apiserver() {
  local d=$STATE/pki
  start kube-apiserver "$K8S_DIR/bin/kube-apiserver" \
    --etcd-servers http://127.0.0.1:2379 \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port 6443 \
    --tls-cert-file "$d/apiserver.crt" --tls-private-key-file "$d/apiserver.key" \
    --client-ca-file "$d/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$d/sa.pub" --service-account-signing-key-file "$d/sa.key" \
    --service-cluster-ip-range "$SERVICE_RANGE" \
    --endpoint-reconciler-type none \
    --authorization-mode Node,RBAC \
    --kubelet-client-certificate "$d/admin.crt" --kubelet-client-key "$d/admin.key" \
    --kubelet-preferred-address-types Hostname \
    --allow-privileged --profiling=false
}

start_containerd() {
  mkdir -p "$STATE/runc"
  start containerd containerd --config "$STATE/containerd/config.toml"
}

start_controller_manager() {
  local d=$STATE/pki
  start kube-controller-manager "$K8S_DIR/bin/kube-controller-manager" \
    --kubeconfig "$KUBECONFIG_PATH" \
    --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
    --root-ca-file "$d/ca.crt" --service-account-private-key-file "$d/sa.key" \
    --service-cluster-ip-range "$SERVICE_RANGE" --allocate-node-cidrs=false \
    --use-service-account-credentials=false --profiling=false
}

start_scheduler() {
  start kube-scheduler "$K8S_DIR/bin/kube-scheduler" \
    --kubeconfig "$KUBECONFIG_PATH" \
    --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --profiling=false
}

start_kubelet() {
  start kubelet "$K8S_DIR/bin/kubelet" \
    --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
    --hostname-override "$NODE"
}

import_images() {
  local t
  for t in "$IMAGES_DIR"/*.tar "${SLUICE_TARS[@]}"; do
    ctr_ images import "$t" >>"$LOGS/images.log" 2>&1 || fail "ctr images import $t"
  done
}

# ---- Argo Workflows and Tekton Pipelines

argo_module() { module_dir github.com/argoproj/argo-workflows/v3 "$ARGO_VERSION"; }
tekton_module() { module_dir github.com/tektoncd/pipeline "$TEKTON_VERSION"; }

install_engines() {
  local argo tekton f t0
  t0=$(date +%s)
  argo=$(argo_module)
  tekton=$(tekton_module)
  # A throwaway single-node cluster: every service account may do anything
  # (Argo's executor writes WorkflowTaskResults with the pod's account).
  kubectl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: sluice-e2e-serviceaccounts}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:serviceaccounts}
---
apiVersion: v1
kind: Namespace
metadata: {name: $ARGO_NS}
YAML
  # Argo's CRDs (the minimal ones, as its cluster install uses) and Tekton's,
  # in one server-side apply (some are too large for client-side apply).
  local crds=()
  for f in "$argo"/manifests/base/crds/minimal/argoproj.io_*.yaml "$tekton"/config/300-crds/*.yaml; do
    crds+=(-f "$f")
  done
  kubectl apply -f "$tekton/config/100-namespace/" >/dev/null
  kubectl apply --server-side "${crds[@]}" >/dev/null
  # No conversion webhook runs: serve every version as stored.
  # shellcheck disable=SC2046 # one name a word
  kubectl patch crd $(kubectl get crd -o name | sed -n 's#^customresourcedefinition.apiextensions.k8s.io/\(.*\.tekton\.dev\)$#\1#p') \
    --type merge -p '{"spec":{"conversion":{"strategy":"None","webhook":null}}}' >/dev/null
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: workflow-controller-configmap, namespace: $ARGO_NS}
data:
  executor: |
    imagePullPolicy: IfNotPresent
    env:
    - {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}
    - {name: KUBERNETES_SERVICE_PORT, value: "6443"}
  workflowDefaults: |
    spec:
      hostNetwork: true
  metricsConfig: |
    enabled: false
  telemetryConfig: |
    enabled: false
YAML

  local cms=()
  for f in "$tekton"/config/config-*.yaml; do cms+=(-f "$f"); done
  kubectl apply "${cms[@]}" >/dev/null
  kubectl -n "$TEKTON_NS" patch configmap config-defaults --type merge -p "$(
    cat <<'JSON'
{"data": {"default-pod-template": "hostNetwork: true\nenv:\n- name: KUBERNETES_SERVICE_HOST\n  value: \"127.0.0.1\"\n- name: KUBERNETES_SERVICE_PORT\n  value: \"6443\"\n"}}
JSON
  )" >/dev/null
  kubectl -n "$TEKTON_NS" patch configmap config-observability --type merge \
    -p '{"data":{"metrics-protocol":"none","tracing-protocol":"none"}}' >/dev/null
  log "installed Argo's and Tekton's CRDs and configuration in $(($(date +%s) - t0))s"
}

start_engines() {
  # DEFAULT_REQUEUE_TIME: how soon the controller looks at a workflow again
  # (10s by default; Argo's own e2e setup uses 1s).
  # ARGO_EXECUTOR_PLUGINS: executor plugins are off unless the admin turns
  # them on; Sluice's cache plugin is one (sluice install argo-plugin).
  start workflow-controller env LEADER_ELECTION_DISABLE=true ARGO_EXECUTOR_PLUGINS=true \
    DEFAULT_REQUEUE_TIME="${SLUICE_E2E_ARGO_REQUEUE:-1s}" \
    "$ARGO_DIR/bin/workflow-controller" --kubeconfig "$KUBECONFIG_PATH" --namespace "$ARGO_NS" \
    --configmap workflow-controller-configmap \
    --executor-image "$ARGOEXEC_IMAGE" --executor-image-pull-policy IfNotPresent
  start tekton-controller env \
    SYSTEM_NAMESPACE="$TEKTON_NS" KUBERNETES_MIN_VERSION=v1.28.0 \
    CONFIG_DEFAULTS_NAME=config-defaults CONFIG_LOGGING_NAME=config-logging \
    CONFIG_OBSERVABILITY_NAME=config-observability CONFIG_FEATURE_FLAGS_NAME=feature-flags \
    CONFIG_LEADERELECTION_NAME=config-leader-election-controller CONFIG_SPIRE=config-spire \
    METRICS_DOMAIN=tekton.dev/pipeline METRICS_PROMETHEUS_HOST=127.0.0.1 \
    PROBES_PORT=18080 PROFILING_PORT=18008 KUBECONFIG="$KUBECONFIG_PATH" \
    "$TEKTON_DIR/bin/controller" -kubeconfig "$KUBECONFIG_PATH" -disable-ha \
    -entrypoint-image "$(tekton_image entrypoint)" -nop-image "$(tekton_image nop)" \
    -sidecarlogresults-image "$(tekton_image sidecarlogresults)" \
    -workingdirinit-image "$(tekton_image workingdirinit)" -shell-image "$BUSYBOX_IMAGE" \
    -shell-image-win "$BUSYBOX_IMAGE"
}

node_ready() {
  [[ $(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
node_untainted() {
  [[ -z $(kubectl get node "$NODE" -o jsonpath='{.spec.taints}' 2>/dev/null) ]]
}
default_sa() { kubectl -n default get serviceaccount default; }
argo_running() { alive workflow-controller && curl -fsS http://127.0.0.1:6060/healthz; }
tekton_running() {
  alive tekton-controller && curl -fsS http://127.0.0.1:18080/readiness &&
    grep -q 'Starting controllers' "$LOGS/tekton-controller.log"
}

# The TCP ports the cluster listens on, all on 127.0.0.1.
PORTS=(2379 2380 6443 10248 10250 10257 10259 6060 18080 18081 18008)
check_ports() {
  local p busy=()
  for p in "${PORTS[@]}"; do
    [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && busy+=("$p")
  done
  [[ ${#busy[@]} == 0 ]] || die "ports in use by something else: ${busy[*]}"
}

# Directories outside $STATE that containerd, CNI and kubelet make whatever
# their configuration (kubelet: device plugins, /var/log/containers links).
HOST_DIRS=(/run/containerd /var/lib/cni /var/run/netns /var/lib/kubelet /var/log/containers)

save_host() {
  local s d f=$STATE/host
  : >"$f.sysctl"
  for s in "${SYSCTLS[@]}"; do
    printf '%s=%s\n' "$s" "$(sysctl -n "$s")" >>"$f.sysctl"
  done
  find /sys/fs/cgroup -maxdepth 2 -name kubepods >"$f.kubepods" 2>/dev/null || true
  ls /var/run/netns 2>/dev/null >"$f.netns" || : >"$f.netns"
  : >"$f.dirs"
  for d in "${HOST_DIRS[@]}"; do
    [[ -e $d ]] && echo "$d" >>"$f.dirs"
  done
  iptables-save >"$f.iptables" 2>/dev/null || true
  ip6tables-save >"$f.ip6tables" 2>/dev/null || true
}

# clean_iptables iptables|ip6tables: remove the KUBE-* chains kubelet made
# (and the jumps to them), unless the host had KUBE-* chains before `up`.
clean_iptables() {
  local ipt=$1 t c rule chains
  command -v "$ipt" >/dev/null || return 0
  [[ -f $STATE/host.$ipt ]] || return 0
  grep -q ':KUBE-' "$STATE/host.$ipt" && return 0
  for t in filter nat mangle; do
    chains=$("$ipt-save" -t "$t" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p')
    [[ -n $chains ]] || continue
    "$ipt-save" -t "$t" | { grep -E '^-A [A-Z]+ .*-j KUBE-' || true; } | sed 's/^-A /-D /' |
      while read -r rule; do eval "$ipt -t $t $rule" || true; done
    for c in $chains; do "$ipt" -t "$t" -F "$c" || true; done
    for c in $chains; do "$ipt" -t "$t" -X "$c" || true; done
  done
}

up() {
  local t0 t1
  [[ $(id -u) == 0 ]] || die "run as root (containerd and kubelet need it)"
  t0=$(date +%s)
  build_all
  if [[ -d $STATE/pids ]] && compgen -G "$STATE/pids/*.pid" >/dev/null; then
    log "a previous cluster's state is in $STATE: taking it down first"
    down
  fi
  check_ports
  rm -rf "$STATE" "$STATE.failed-logs"
  mkdir -p "$STATE" "$LOGS" "$PIDS"
  trap on_up_exit EXIT
  echo "$CACHE" >"$STATE/cache"
  save_host
  log "state in $STATE, logs in $LOGS"
  build_launcher
  write_images_env
  make_pki
  write_configs
  pod_network
  t1=$(date +%s)
  start_etcd
  start_containerd
  wait_for etcd 30 curl -fsS http://127.0.0.1:2379/health
  start_apiserver
  wait_for containerd 30 ctr_ version
  import_images
  wait_for kube-apiserver 120 kubectl get --raw /readyz
  log "kube-apiserver ready after $(($(date +%s) - t1))s"
  start_controller_manager
  start_scheduler
  start_kubelet
  install_engines
  wait_for "node $NODE Ready" 120 node_ready
  log "node $NODE Ready after $(($(date +%s) - t1))s"
  wait_for "node $NODE untainted" 60 node_untainted
  wait_for "the default service account" 60 default_sa
  start_engines
  wait_for workflow-controller 60 argo_running
  wait_for tekton-controller 60 tekton_running
  log "cluster up (node Ready, both controllers running) after $(($(date +%s) - t1))s; $(($(date +%s) - t0))s since 'up' began"
  if [[ ${SLUICE_E2E_SMOKE:-1} == 1 ]]; then smoke; fi
  log "kubeconfig: $KUBECONFIG_PATH   e.g. KUBECONFIG=$KUBECONFIG_PATH $K8S_DIR/bin/kubectl get pods -A"
  log "kubectl: $K8S_DIR/bin/kubectl"
  trap - EXIT
}

# ---- smoke check

# wait_done KIND/NAME JSONPATH OK BAD SECONDS: poll until JSONPATH is OK
# (success) or BAD (failure).
wait_done() {
  local obj=$1 path=$2 ok=$3 bad=$4 secs=$5 v i
  for ((i = 0; i < secs * 2; i++)); do
    v=$(kubectl -n sluice-e2e-smoke get "$obj" -o "jsonpath=$path" 2>/dev/null || true)
    [[ $v == "$ok" ]] && return 0
    if [[ $v == "$bad" ]]; then
      kubectl -n sluice-e2e-smoke get "$obj" -o yaml >&2 || true
      smoke_pods
      fail "smoke: $obj failed"
    fi
    sleep 0.5
  done
  kubectl -n sluice-e2e-smoke get "$obj" -o yaml >&2 || true
  smoke_pods
  fail "smoke: $obj not done after ${secs}s"
}

smoke_pods() {
  kubectl -n sluice-e2e-smoke get pods -o wide >&2 || true
  kubectl -n sluice-e2e-smoke get events --sort-by=.lastTimestamp >&2 || true
}

smoke() {
  local t0 t
  [[ -f $KUBECONFIG_PATH ]] || die "no cluster: run '$0 up'"
  kubectl create namespace sluice-e2e-smoke --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n sluice-e2e-smoke delete pods,workflows.argoproj.io,pipelineruns.tekton.dev --all --wait=true >/dev/null
  wait_for "the smoke namespace's service account" 60 kubectl -n sluice-e2e-smoke get serviceaccount default
  t0=$(date +%s)
  kubectl apply -f "$HERE/smoke/pod.yaml" >/dev/null
  wait_done pod/smoke-busybox '{.status.phase}' Succeeded Failed 120
  kubectl -n sluice-e2e-smoke logs smoke-busybox >&2
  t=$(($(date +%s) - t0))
  log "smoke: busybox pod Succeeded in ${t}s"
  t0=$(date +%s)
  kubectl apply -f "$HERE/smoke/argo-dag.yaml" >/dev/null
  wait_done workflow/smoke-dag '{.status.phase}' Succeeded Failed 180
  log "smoke: Argo DAG Workflow Succeeded in $(($(date +%s) - t0))s"
  t0=$(date +%s)
  kubectl apply -f "$HERE/smoke/tekton-pipelinerun.yaml" >/dev/null
  wait_done pipelinerun/smoke-pipeline '{.status.conditions[?(@.type=="Succeeded")].status}' True False 180
  log "smoke: Tekton PipelineRun Succeeded in $(($(date +%s) - t0))s"
}

# ---- down

# own_processes: PIDs of processes (shims, containers' parents) whose
# command line names this state directory.
own_processes() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    if [[ $cmd == *"$STATE/"* ]]; then printf '%s\n' "${p#/proc/}"; fi
  done
}

down() {
  local id p m n s v i
  [[ -d $STATE ]] || { log "nothing to take down ($STATE does not exist)"; return 0; }
  if [[ -f $STATE/cache ]]; then
    CACHE=$(cat "$STATE/cache")
    K8S_DIR=$CACHE/kubernetes-$K8S_VERSION
  fi
  stop workflow-controller tekton-controller kube-scheduler kube-controller-manager
  # Let kubelet stop every pod, so that CNI tears their networks down.
  if alive kubelet && alive kube-apiserver; then
    kubectl delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=60s >/dev/null 2>&1 || true
  fi
  stop kubelet
  if alive containerd; then
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
      ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers ls -q 2>/dev/null); do
      ctr_ containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop containerd kube-apiserver
  stop etcd
  # Shims and anything else still running from the state directory.
  for p in $(own_processes); do
    kill -KILL "$p" 2>/dev/null || true
  done
  # Network namespaces the runtime made and left.
  if [[ -d /var/run/netns ]]; then
    for n in /var/run/netns/cni-*; do
      [[ -e $n ]] || continue
      grep -qxF "${n##*/}" "$STATE/host.netns" 2>/dev/null && continue
      umount "$n" 2>/dev/null || true
      rm -f "$n"
    done
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
  # What kubelet and containerd mounted under the state directory.
  for ((i = 0; i < 5; i++)); do
    m=$(findmnt -rn -o TARGET | grep -F "$STATE/" | sort -r || true)
    [[ -z $m ]] && break
    while read -r p; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; done <<<"$m"
  done
  # Cgroups that kubelet made (cgroupfs driver).
  for p in /sys/fs/cgroup/*/kubepods; do
    [[ -d $p ]] || continue
    grep -qxF "$p" "$STATE/host.kubepods" 2>/dev/null && continue
    find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -f /var/lib/cni/results/sluice-e2e-* 2>/dev/null || true
  unforward
  clean_iptables iptables
  clean_iptables ip6tables
  # kubelet's links to the pod logs under $STATE.
  for p in /var/log/containers/*.log; do
    if [[ -L $p && $(readlink "$p") == "$STATE/"* ]]; then rm -f "$p"; fi
  done
  # Directories made outside $STATE, if they did not exist before `up`:
  # kubelet's /var/lib/kubelet holds only its device-plugin socket then.
  if [[ -f $STATE/host.dirs ]]; then
    for p in "${HOST_DIRS[@]}"; do
      grep -qxF "$p" "$STATE/host.dirs" && continue
      if [[ $p == /var/lib/kubelet && -d $p ]]; then
        find "$p" -depth \( -type s -o -type d -empty \) -delete 2>/dev/null || true
      elif [[ -d $p ]]; then
        find "$p" -depth -type d -empty -delete 2>/dev/null || true
      fi
    done
  fi
  if [[ -f $STATE/host.sysctl ]]; then
    while IFS='=' read -r s v; do
      [[ $(sysctl -n "$s") == "$v" ]] || sysctl -qw "$s=$v" || true
    done <"$STATE/host.sysctl"
  fi
  rm -rf "$STATE"
  log "down: stopped everything and removed $STATE"
}

status() {
  local f n
  [[ -d $PIDS ]] || { echo "not running ($STATE does not exist)"; return 0; }
  for f in "$PIDS"/*.pid; do
    [[ -e $f ]] || continue
    n=$(basename "$f" .pid)
    if alive "$n"; then echo "$n: running (pid $(cat "$f"))"; else echo "$n: dead"; fi
  done
  echo "kubeconfig: $KUBECONFIG_PATH"
}

case "${1:-}" in
build) build_all ;;
up) up ;;
smoke) smoke ;;
forward) forward_port "${2:?usage: $0 forward PORT}" ;;
down) down ;;
status) status ;;
*) die "usage: $0 build|up|smoke|down|status|forward PORT" ;;
esac
