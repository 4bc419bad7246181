// Command sluice validates, renders and (in later subcommands) runs Sluice
// pipeline files. See DESIGN.md for the whole tool; each subcommand lives in
// its own file, registered in root.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0   // the command did what was asked
	exitFailure = 1   // the command ran and failed: an invalid pipeline, a failed run
	exitUsage   = 2   // the command line is wrong: unknown command or flag, bad arguments
	exitStopped = 130 // interrupted (Ctrl-C), as a shell reports it
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs one command line and returns its exit code. It is main
// without the process: tests call it with their own args and writers.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(err)
	switch {
	case err == nil, errors.Is(err, errSilent), errors.Is(err, errInterrupted):
	case code == exitUsage:
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Error: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
	}
	return code
}

// errSilent is returned by a command that has already written what went
// wrong (validate's list of problems): it exits 1 with nothing more said.
var errSilent = errors.New("failed")

// usageError is a problem with the command line. A command returns one
// (usageErrorf) for mistakes that cobra cannot see, such as flags that do
// not go together; it exits 2 with a pointer to --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// runError marks an error returned by a command's own code (RunE and its
// pre- and post-run hooks), as opposed to one cobra found in the command
// line. markRunErrors installs it on every command.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// exitCode maps an error from Execute to the process exit code. Everything
// cobra reports before a command runs (unknown command or flag, a bad flag
// value, the wrong number of arguments, a missing required flag) is a usage
// error, whichever function built it; what a command returns is a failure
// unless it is a usageError.
func exitCode(err error) int {
	var usage *usageError
	var run *runError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitStopped
	case errors.As(err, &run):
		return exitFailure
	default:
		return exitUsage
	}
}

// markRunErrors wraps the hooks of cmd and its subcommands so that their
// errors are told apart from cobra's command-line errors (see exitCode).
func markRunErrors(cmd *cobra.Command) {
	for _, hook := range []*func(*cobra.Command, []string) error{
		&cmd.PersistentPreRunE, &cmd.PreRunE, &cmd.RunE, &cmd.PostRunE, &cmd.PersistentPostRunE,
	} {
		if f := *hook; f != nil {
			*hook = func(c *cobra.Command, args []string) error {
				if err := f(c, args); err != nil {
					return &runError{err}
				}
				return nil
			}
		}
	}
	for _, c := range cmd.Commands() {
		markRunErrors(c)
	}
}
