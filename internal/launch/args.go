package launch

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/internal/step"
)

// RunFlags are the flags of `sluice-exec run`. The launcher parses its
// command line with them, and so do the engines' cache plugins, which are
// handed the same command line: the step a plugin looks up is exactly the
// step its pod would run.
type RunFlags struct {
	SpecB64, SpecFile string
	Values            ValueFlags
	Out               ListFlag
	OutDir            string
	Cache             string
	Work              string
	MaxValue          int
	MaxTotal          int
	Run, ID           string
}

// Register adds the flags to fs.
func (o *RunFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.SpecB64, "spec-b64", "", "the step spec, `B64` (env "+SpecEnv+")")
	fs.StringVar(&o.SpecFile, "spec", "", "read the step spec from `FILE`, JSON or base64")
	o.Values.Register(fs)
	fs.Var(&o.Out, "out", "after success, write output NAME to PATH: `NAME=PATH` (repeatable)")
	fs.StringVar(&o.OutDir, "out-dir", "", "write every output to `DIR`/params.X and DIR/artifacts.X after success")
	fs.StringVar(&o.Cache, "cache", "", "the store `URL` (env "+CacheEnv+")")
	fs.StringVar(&o.Work, "work", "", "the step's scratch `DIR` (default: a temporary directory)")
	fs.IntVar(&o.MaxValue, "max-value-bytes", DefaultMaxValueBytes, "longest value written inline; longer ones become value refs")
	fs.IntVar(&o.MaxTotal, "max-total-bytes", 0, "bound on all outputs written together (0: none)")
	fs.StringVar(&o.Run, "run", "", "the `RUN` id recorded in the cache entry (default: the pipeline.runId value)")
	fs.StringVar(&o.ID, "id", "", "display name of this execution, e.g. train[2]")
}

// ParseRunArgs parses the arguments of `sluice-exec run` (without the
// word run) into a request, reading the launcher's environment variables
// through getenv where a flag is absent. Every usage problem is reported
// at once, as an *Error with ExitUsage.
func ParseRunArgs(args []string, getenv func(string) string) (*Request, error) {
	var o RunFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, &Error{Code: ExitUsage, Err: fmt.Errorf("run: %w", err)}
	}
	return o.Request(fs.Args(), getenv)
}

// Request checks the parsed flags and builds the launch request; rest are
// the arguments after the flags. Every usage problem is reported at once.
func (o *RunFlags) Request(rest []string, getenv func(string) string) (*Request, error) {
	var errs []error
	spec, err := o.spec(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	store := o.Cache
	if store == "" {
		store = getenv(CacheEnv)
	}
	if store == "" {
		errs = append(errs, errors.New("no store: pass --cache URL or set "+CacheEnv))
	}
	in, err := o.Values.Bindings(rest)
	if err != nil {
		errs = append(errs, err)
	}
	outs, err := ParseOuts(o.Out)
	if err != nil {
		errs = append(errs, err)
	}
	if o.MaxValue <= 0 {
		errs = append(errs, fmt.Errorf("--max-value-bytes %d: want a positive number", o.MaxValue))
	}
	if o.MaxTotal < 0 {
		errs = append(errs, fmt.Errorf("--max-total-bytes %d: want 0 (no bound) or a positive number", o.MaxTotal))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &Error{Code: ExitUsage, Err: err}
	}
	return &Request{
		Spec:   spec,
		In:     in,
		Outs:   outs,
		OutDir: o.OutDir,
		Store:  store,
		Work:   o.Work,
		Limits: Limits{MaxValue: o.MaxValue, MaxTotal: o.MaxTotal},
		Run:    o.Run,
		ID:     o.ID,
		Verify: verify(getenv(step.VerifyEnv)),
	}, nil
}

// verify reads step.VerifyEnv as step.VerifyFromEnv does.
func verify(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}

// spec reads the spec from --spec-b64, --spec or the environment.
func (o *RunFlags) spec(getenv func(string) string) (*Spec, error) {
	switch {
	case o.SpecB64 != "" && o.SpecFile != "":
		return nil, errors.New("--spec-b64 and --spec: give one")
	case o.SpecB64 != "":
		return Decode(o.SpecB64)
	case o.SpecFile != "":
		data, err := os.ReadFile(o.SpecFile)
		if err != nil {
			return nil, fmt.Errorf("--spec: %w", err)
		}
		if s := strings.TrimSpace(string(data)); strings.HasPrefix(s, "{") {
			return DecodeJSON([]byte(s))
		}
		return Decode(string(data))
	case getenv(SpecEnv) != "":
		return Decode(getenv(SpecEnv))
	}
	return nil, errors.New("no spec: pass --spec-b64 B64, --spec FILE or set " + SpecEnv)
}
