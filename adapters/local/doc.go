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
//	    run.json              the summary (report.Summary), with each step's outputs
//	    tasks.jsonl           the resolved steps that ran (not hits), one a line
//	    steps/<step>.log      a step's stdout and stderr, if it printed anything
//	    work/                 the steps' scratch (and working) directories, each
//	                          new or empty when its step starts, removed at the
//	                          end; with --keep-work, work/<step>.<attempt>/, kept
package local
