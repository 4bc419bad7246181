#!/usr/bin/env bash
# bench/local.sh: the local runner against make -j on the same 1,000-step
# DAG of no-op commands, in the same run; then the fully cached rerun; then
# storing a 1 GiB artifact against `openssl dgst -sha256` on the same file.
# Peak memory of each comes from GNU time (/usr/bin/time -v) when present.
#
#   bench/local.sh [STEPS] [PARALLEL]      (defaults: 1000 2)
#
# Prints a Markdown table for docs/perf.md. Needs: go, make, openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1000}
par=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/sluice" ./cmd/sluice

# The DAG: step i needs steps i-1 and i/2 (when they exist), the same in
# the pipeline and the Makefile. Each runs `true sN`: the argument makes
# every step a distinct computation (identical steps share one cache key,
# so a DAG of 1,000 identical commands would run one and hit 999).
awk -v n="$steps" 'BEGIN {
  print "apiVersion: sluice.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: bench}\nspec:\n  defaults: {image: busybox:1.36}\n  steps:"
  for (i = 0; i < n; i++) {
    deps = ""
    if (i > 0) deps = "s" (i-1)
    if (i > 1 && int(i/2) != i-1) deps = deps ", s" int(i/2)
    printf "    - {name: s%d, command: [true, s%d]%s}\n", i, i, (deps == "" ? "" : ", after: [" deps "]")
  }
}' > "$work/dag.yaml"
awk -v n="$steps" 'BEGIN {
  printf "all:"; for (i = 0; i < n; i++) printf " s%d", i; print ""
  for (i = 0; i < n; i++) {
    deps = ""
    if (i > 0) deps = "s" (i-1)
    if (i > 1 && int(i/2) != i-1) deps = deps " s" int(i/2)
    printf "s%d: %s\n\t@true s%d\n.PHONY: s%d\n", i, deps, i, i
  }
}' > "$work/Makefile"

# now prints seconds with nanoseconds; measure runs one command and prints
# "seconds peak-KiB".
measure() {
  local t0 t1 rss=""
  if [ -x /usr/bin/time ]; then
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    t1=$(date +%s.%N)
    rss=$(tail -n1 "$work/rss")
  else
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    t1=$(date +%s.%N)
  fi
  echo "$(echo "$t1 - $t0" | bc -l) ${rss:-?}"
}
best() { # best of 3: the minimum time, its memory
  local out best_t=999999 best_m="?"
  for _ in 1 2 3; do
    out=$(measure "$@")
    t=${out% *}; m=${out#* }
    if (( $(echo "$t < $best_t" | bc -l) )); then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

cd "$work"
make_r=$(best make -s -j"$par" -f Makefile)
cold_r=$(best bash -c "rm -rf cache runs && ./sluice run dag.yaml --parallel $par --cache-dir cache --runs-dir runs")
./sluice run dag.yaml --parallel "$par" --cache-dir cache --runs-dir runs >/dev/null
warm_r=$(best ./sluice run dag.yaml --parallel "$par" --cache-dir cache --runs-dir runs)

# 1 GiB artifact: a step's output file stored in the cache (hashed in one
# read, then moved into the store, never copied) against openssl hashing
# the same bytes. The step only renames a prepared file into its output
# path, so the run's time is sluice's: start, hash, store, finish.
head -c $((1 << 30)) /dev/urandom > big.src
cat > big.yaml <<YAML
apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: big}
spec:
  steps:
    - {name: put, image: busybox:1.36, command: [mv, $work/big, '\${{ outputs.artifacts.f }}'], outputs: {artifacts: [{name: f}]}}
YAML
ssl_r=$(best openssl dgst -sha256 big.src)
put_best=999999 put_m="?"
for _ in 1 2 3; do
  rm -rf cache2 runs2 && cp big.src big && cat big > /dev/null
  out=$(measure ./sluice run big.yaml --cache-dir cache2 --runs-dir runs2)
  t=${out% *}
  if (( $(echo "$t < $put_best" | bc -l) )); then put_best=$t; put_m=${out#* }; fi
done
put_r="$put_best $put_m"

t() { echo "${1% *}"; }
m() { echo "${1#* }"; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
echo "| measurement | sluice | peer | ratio (sluice/peer) | sluice peak RSS (KiB) | peer peak RSS (KiB) |"
echo "|---|---|---|---|---|---|"
printf "| %d-step no-op DAG, -j%d, cold | %.3f s | make %.3f s | %s× | %s | %s |\n" "$steps" "$par" "$(t "$cold_r")" "$(t "$make_r")" "$(ratio "$(t "$cold_r")" "$(t "$make_r")")" "$(m "$cold_r")" "$(m "$make_r")"
printf "| %d-step DAG, fully cached rerun | %.3f s | goal 0.200 s | — | %s | — |\n" "$steps" "$(t "$warm_r")" "$(m "$warm_r")"
gib_s=$(t "$put_r"); ssl_s=$(t "$ssl_r")
printf "| store 1 GiB artifact (hash+copy) | %.0f MB/s | openssl dgst -sha256 %.0f MB/s | %s× | %s | %s |\n" "$(echo "1073.741824 / $gib_s" | bc -l)" "$(echo "1073.741824 / $ssl_s" | bc -l)" "$(ratio "$ssl_s" "$gib_s")" "$(m "$put_r")" "$(m "$ssl_r")"
