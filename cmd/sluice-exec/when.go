package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-dev/sluice/internal/launch"
)

// whenCmd is `sluice-exec when`: it decides a step's when condition from
// the values passed in and writes "true" or "false" to --out (and
// stdout), for an engine to gate the step on.
func whenCmd(args []string, stdout io.Writer) error {
	var (
		exprB64, cache, out string
		values              valueFlags
	)
	fs := flag.NewFlagSet("when", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&exprB64, "when-b64", "", "the condition as in the pipeline file, standard base64 `B64`")
	fs.StringVar(&cache, "cache", "", "the store `URL`, to fetch values passed as value refs (env "+launch.CacheEnv+")")
	fs.StringVar(&out, "out", "", "write true or false to `PATH`")
	values.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: sluice-exec when --when-b64 B64 --out PATH [--in KEY=VALUE]... [--in-list KEY=TYPE:N]... [-- ELEMENTS]")
			fs.PrintDefaults()
			return errHelp
		}
		return usageError("when: %v", err)
	}
	if fs.NArg() > 0 && len(values.inList) == 0 {
		return usageError("when: unexpected argument %q", fs.Arg(0))
	}
	values.elems = fs.Args()
	expr, err := base64.StdEncoding.DecodeString(exprB64)
	switch {
	case exprB64 == "":
		return usageError("when: --when-b64 is required")
	case err != nil:
		return usageError("when: --when-b64: %v", err)
	case out == "":
		return usageError("when: --out is required")
	}
	in, err := values.bindings()
	if err != nil {
		return &launch.Error{Code: launch.ExitUsage, Err: err}
	}
	if cache == "" {
		cache = os.Getenv(launch.CacheEnv)
	}
	ok, err := launch.When(context.Background(), &launch.WhenRequest{Expr: string(expr), In: in, Store: cache})
	if err != nil {
		return err
	}
	text := strconv.FormatBool(ok)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return &launch.Error{Code: launch.ExitOutputs, Err: err}
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		return &launch.Error{Code: launch.ExitOutputs, Err: err}
	}
	fmt.Fprintln(stdout, text)
	return nil
}
