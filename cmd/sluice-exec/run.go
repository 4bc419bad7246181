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

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type runOptions struct {
	specB64, specFile string
	values            valueFlags
	out               listFlag
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
	o.values.register(fs)
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
	if fs.NArg() > 0 && len(o.values.inList) == 0 {
		return usageError("run: unexpected argument %q: the command is in the spec", fs.Arg(0))
	}
	o.values.elems = fs.Args()
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
	in, err := o.values.bindings()
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

// valueFlags are the flags that pass runtime values, shared by run and
// when: --in KEY=VALUE, --in-b64 KEY=BASE64, and --in-list KEY=TYPE:COUNT
// whose elements follow "--".
type valueFlags struct {
	in, inB64, inList listFlag
	elems             []string
}

func (v *valueFlags) register(fs *flag.FlagSet) {
	fs.Var(&v.in, "in", "a runtime value for a placeholder, `KEY=VALUE` (repeatable)")
	fs.Var(&v.inB64, "in-b64", "the same with the value in standard base64, `KEY=B64` (repeatable)")
	fs.Var(&v.inList, "in-list", "a loop's list output from `KEY=TYPE:COUNT` elements given after -- (repeatable)")
}

func (v *valueFlags) bindings() (*launch.Bindings, error) {
	b, err := launch.ParseBindings(v.in)
	if err != nil {
		return nil, err
	}
	return b, errors.Join(b.AddB64(v.inB64), b.AddLists(v.inList, v.elems))
}
