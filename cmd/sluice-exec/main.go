package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	_ "github.com/sluice-dev/sluice/cache/s3" // the s3:// store
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/step"
)

const usage = `usage:
  sluice-exec run --spec-b64 B64 --cache URL [--in KEY=VALUE]... [--in-b64 KEY=B64]...
                  [--in-list KEY=TYPE:N [--in-list-index KEY]]... [--in-json-list KEY=TYPE:DEPTH:JSON]...
                  [--index N | --in-item N:B64]
                  [--out NAME=PATH]... [--out-dir DIR] [--max-value-bytes N]
                  [--max-total-bytes N] [--work DIR] [--run RUN] [--id ID]
                  [-- LIST ELEMENTS [AND INDEXES]...]
  sluice-exec when --spec-b64 B64 (--out-dir DIR | --out when=PATH [--out items|kept|runs|iterations=PATH]...)
                   [--cache URL] [value flags as for run, less --index and --in-item]
  sluice-exec cp SRC DST
  sluice-exec version

Run 'sluice-exec run -h' for the flags of run; 'go doc ./cmd/sluice-exec'
documents the contract.
`

func main() {
	os.Exit(exitCode(dispatch(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("no command")
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "when":
		return whenCmd(args[1:], stdout)
	case "cp":
		return cpCmd(args[1:])
	case "version":
		return versionCmd(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q", args[0])
}

func usageError(format string, args ...any) error {
	return &launch.Error{Code: launch.ExitUsage, Err: fmt.Errorf(format, args...)}
}

// errHelp is a request for help that was answered: exit 0.
var errHelp = errors.New("help")

// exitCode turns what a command returned into the process's exit code,
// printing the launcher's own failures. The command's own exit code
// passes through silently: its output already says why.
func exitCode(err error, stderr io.Writer) int {
	var exit *step.ExitError
	var own *launch.Error
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &own):
		printError(stderr, own.Err)
		if own.Code == launch.ExitUsage {
			fmt.Fprintln(stderr, "sluice-exec: error: run 'sluice-exec help' for usage")
		}
		return own.Code
	}
	printError(stderr, err)
	return launch.ExitOutputs
}

// printError prefixes every line of err, so that a log reader (or the
// adapter's status code) can find the launcher's lines among the command's.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "sluice-exec: error: %s\n", line)
	}
}
