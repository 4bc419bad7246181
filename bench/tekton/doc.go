// Package tekton measures the Tekton adapter: compile time and bytes per
// task, and the largest pipeline whose PipelineRun fits under 1.5 MiB
// (etcd's default request limit, which bounds any Kubernetes object).
//
//	SLUICE_BENCH=1 go test ./bench/tekton -run Largest -v
//	go test ./bench/tekton -run '^$' -bench . -benchmem
//
// docs/perf.md ("Tekton adapter") has the figures.
package tekton
