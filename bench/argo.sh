#!/usr/bin/env bash
# bench/argo.sh: the Argo adapter's compile time, JSON bytes per task and
# Argo's own validation time for 10/100/1,000/5,000 steps (independent,
# chain, a distinct image per step), and the largest pipeline of each
# shape whose Workflow fits under 1 MiB (Argo's limit) and 1.5 MiB (etcd's).
#
#   bench/argo.sh [BENCHTIME]      (default 3x)
#
# Prints Markdown tables for docs/perf.md. Needs: go.
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${1:-3x}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test ./bench/argo -run '^$' -bench 'Compile' -benchtime="$bt" >"$out"
# Argo's validator takes time quadratic in the tasks (minutes at 5,000): once each.
go test ./bench/argo -run '^$' -bench 'Validate' -benchtime=1x -timeout 0 >>"$out"
go test ./bench/argo -run '^$' -bench 'Fits' -benchtime=1x -timeout 0 >>"$out"

awk '
function ms(ns) { return ns >= 1e10 ? sprintf("%.0f s", ns / 1e9) : (ns >= 1e9 ? sprintf("%.1f s", ns / 1e9) : sprintf(ns >= 1e8 ? "%.0f ms" : (ns >= 1e6 ? "%.1f ms" : "%.2f ms"), ns / 1e6)) }
/^BenchmarkCompile\// {
  split($1, k, "/"); shape = k[2]; n = k[3]; sub(/-[0-9]+$/, "", n)
  key = shape SUBSEP n; shapes[shape] = 1; ns[n] = 1
  compile[key] = $3; for (i = 4; i < NF; i++) if ($(i+1) == "B/task") bytes[key] = $i
}
/^BenchmarkValidate\// {
  split($1, k, "/"); shape = k[2]; n = k[3]; sub(/-[0-9]+$/, "", n)
  validate[shape SUBSEP n] = $3
}
/^BenchmarkFits\// {
  split($1, k, "/"); shape = k[2]; sub(/-[0-9]+$/, "", shape)
  for (i = 3; i < NF; i++) { if ($(i+1) == "tasks@1MiB") fit1[shape] = $i; if ($(i+1) == "tasks@1.5MiB") fit15[shape] = $i }
}
END {
  print "| shape | tasks | compile | JSON bytes/task | Argo validation |"
  print "|---|---|---|---|---|"
  split("independent chain distinct", order, " ")
  split("10 100 1000 5000", sizes, " ")
  for (s = 1; s <= 3; s++) for (z = 1; z <= 4; z++) {
    key = order[s] SUBSEP sizes[z]
    if (!(key in compile)) continue
    printf "| %s | %s | %s | %.0f | %s |\n", order[s], sizes[z], ms(compile[key]), bytes[key], ms(validate[key])
  }
  print ""
  print "| shape | largest pipeline ≤ 1 MiB | ≤ 1.5 MiB |"
  print "|---|---|---|"
  for (s = 1; s <= 3; s++) printf "| %s | %s tasks | %s tasks |\n", order[s], fit1[order[s]], fit15[order[s]]
}' "$out"
