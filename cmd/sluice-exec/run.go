package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/step"
)

type runOptions struct {
	specB64, specFile string
	values            launch.ValueFlags
	rest              []string
	out               launch.ListFlag
	outDir            string
	cache             string
	work              string
	maxValue          int
	maxTotal          int
	run, id           string
}

func runCmd(args []string, stdout, stderr io.Writer) error {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.specB64, "spec-b64", "", "the step spec, `B64` (env "+launch.SpecEnv+")")
	fs.StringVar(&o.specFile, "spec", "", "read the step spec from `FILE`, JSON or base64")
	o.values.Register(fs)
	fs.Var(&o.out, "out", "after success, write output NAME to PATH: `NAME=PATH` (repeatable)")
	fs.StringVar(&o.outDir, "out-dir", "", "write every output to `DIR`/params.X and DIR/artifacts.X after success")
	fs.StringVar(&o.cache, "cache", "", "the store `URL` (env "+launch.CacheEnv+")")
	fs.StringVar(&o.work, "work", "", "the step's scratch `DIR` (default: a temporary directory)")
	fs.IntVar(&o.maxValue, "max-value-bytes", launch.DefaultMaxValueBytes, "longest value written inline; longer ones become value refs")
	fs.IntVar(&o.maxTotal, "max-total-bytes", 0, "bound on all outputs written together (0: none)")
	fs.StringVar(&o.run, "run", "", "the `RUN` id recorded in the cache entry (default: the pipeline.runId value)")
	fs.StringVar(&o.id, "id", "", "display name of this execution, e.g. train[2]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: sluice-exec run --spec-b64 B64 --cache URL [flags]")
			fs.PrintDefaults()
			return errHelp
		}
		return usageError("run: %v", err)
	}
	o.rest = fs.Args()
	req, err := o.request()
	if err != nil {
		return err
	}
	req.Stdout, req.Stderr = stdout, stderr

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		if s, ok := (<-sigs).(syscall.Signal); ok {
			cancel(&launch.Interrupted{Signal: s})
		}
	}()
	_, err = launch.Run(ctx, req)
	return err
}

// request checks the flags and builds the launch request; every usage
// problem is reported at once.
func (o *runOptions) request() (*launch.Request, error) {
	var errs []error
	spec, err := o.spec()
	if err != nil {
		errs = append(errs, err)
	}
	store := o.cache
	if store == "" {
		store = os.Getenv(launch.CacheEnv)
	}
	if store == "" {
		errs = append(errs, errors.New("no store: pass --cache URL or set "+launch.CacheEnv))
	}
	in, err := o.values.Bindings(o.rest)
	if err != nil {
		errs = append(errs, err)
	}
	outs, err := launch.ParseOuts(o.out)
	if err != nil {
		errs = append(errs, err)
	}
	if o.maxValue <= 0 {
		errs = append(errs, fmt.Errorf("--max-value-bytes %d: want a positive number", o.maxValue))
	}
	if o.maxTotal < 0 {
		errs = append(errs, fmt.Errorf("--max-total-bytes %d: want 0 (no bound) or a positive number", o.maxTotal))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &launch.Error{Code: launch.ExitUsage, Err: err}
	}
	return &launch.Request{
		Spec:    spec,
		In:      in,
		Outs:    outs,
		OutDir:  o.outDir,
		Store:   store,
		Work:    o.work,
		Limits:  launch.Limits{MaxValue: o.maxValue, MaxTotal: o.maxTotal},
		Run:     o.run,
		ID:      o.id,
		Environ: os.Environ(),
		Verify:  step.VerifyFromEnv(),
	}, nil
}

// spec reads the spec from --spec-b64, --spec or the environment.
func (o *runOptions) spec() (*launch.Spec, error) {
	switch {
	case o.specB64 != "" && o.specFile != "":
		return nil, errors.New("--spec-b64 and --spec: give one")
	case o.specB64 != "":
		return launch.Decode(o.specB64)
	case o.specFile != "":
		data, err := os.ReadFile(o.specFile)
		if err != nil {
			return nil, fmt.Errorf("--spec: %w", err)
		}
		if s := strings.TrimSpace(string(data)); strings.HasPrefix(s, "{") {
			return launch.DecodeJSON([]byte(s))
		}
		return launch.Decode(string(data))
	case os.Getenv(launch.SpecEnv) != "":
		return launch.Decode(os.Getenv(launch.SpecEnv))
	}
	return nil, errors.New("no spec: pass --spec-b64 B64, --spec FILE or set " + launch.SpecEnv)
}
