// Package local runs a pipeline on this machine: a DAG scheduler that
// starts each step the moment what it needs is done, with a bound on how
// many commands run at once, forEach loops, when, retries with backoff,
// timeouts, onExit, and fail-fast that lets running branches finish.
//
// Each step execution goes through package step, the same code the in-pod
// launcher runs, so a step cached here is cached on every backend that
// shares the store. Each run writes a run directory:
//
//	.sluice/runs/<run-id>/
//	    run.json                 the summary (report.Summary)
//	    steps/<step>/task.json   the resolved step: inputs, params, key inputs
//	    steps/<step>/log         stdout and stderr
//	    steps/<step>/outputs.json
//	    work/<step>/             the step's scratch directory (in/, out/, tmp/)
package local
