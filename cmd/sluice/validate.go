package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/ir"
)

type validateOptions struct {
	files  []string
	output string
	stdout io.Writer
	stderr io.Writer
}

func newValidateCmd() *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check pipeline files",
		Long: `Check pipeline files: syntax, fields, names, placeholders, when conditions and
dependencies. Every file is checked and every problem reported.

With -o text (the default), each valid file prints "FILE: ok" on stdout and each
problem prints on stderr as file:line:col: field.path: message. With -o json or
-o yaml, the result of every file goes to stdout as a list of
{file, errors: [{file, line, col, path, message}]}.

The exit code is 1 when any file is invalid.`,
		Example: `  sluice validate pipeline.yaml
  sluice validate -o json pipelines/*.yaml`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completePipelineFiles(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.files = args
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runValidate(cmd.Context(), opts)
		},
	}
	addOutputFlag(cmd, &opts.output, formatText, formatJSON, formatYAML)
	return cmd
}

// fileResult is the outcome of one file, for -o json and -o yaml.
type fileResult struct {
	File   string      `json:"file" yaml:"file"`
	Errors []fileError `json:"errors" yaml:"errors"`
}

// fileError is one problem. Line and col are 1-based, 0 when unknown (a
// file that cannot be read); path is empty for a problem with the whole file.
type fileError struct {
	File    string `json:"file" yaml:"file"`
	Line    int    `json:"line" yaml:"line"`
	Col     int    `json:"col" yaml:"col"`
	Path    string `json:"path" yaml:"path"`
	Message string `json:"message" yaml:"message"`
}

func runValidate(ctx context.Context, opts *validateOptions) error {
	results := make([]fileResult, 0, len(opts.files))
	invalid := false
	for _, file := range opts.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := ir.Load(file)
		res := fileResult{File: file, Errors: loadErrors(file, err)}
		results = append(results, res)
		if err != nil {
			invalid = true
		}
		if opts.output != formatText {
			continue
		}
		if err != nil {
			printLoadError(opts.stderr, err)
		} else {
			fmt.Fprintf(opts.stdout, "%s: ok\n", file)
		}
	}
	if write, ok := structured[opts.output]; ok {
		if err := write(opts.stdout, results); err != nil {
			return err
		}
	}
	if invalid {
		return errSilent
	}
	return nil
}

// loadErrors lists the problems of an error from ir.Load: its field errors,
// or the error itself (a file that cannot be read).
func loadErrors(file string, err error) []fileError {
	out := []fileError{}
	if err == nil {
		return out
	}
	fes := ir.Errors(err)
	if len(fes) == 0 {
		return append(out, fileError{File: file, Message: err.Error()})
	}
	for _, fe := range fes {
		f := fe.Pos.File
		if f == "" {
			f = file
		}
		out = append(out, fileError{
			File:    f,
			Line:    fe.Pos.Line,
			Col:     fe.Pos.Col,
			Path:    string(fe.Path),
			Message: fe.Msg,
		})
	}
	return out
}

// printLoadError writes an error from ir.Load one problem a line, each as
// file:line:col: path: message.
func printLoadError(w io.Writer, err error) {
	fes := ir.Errors(err)
	if len(fes) == 0 {
		fmt.Fprintln(w, err)
		return
	}
	for _, fe := range fes {
		fmt.Fprintln(w, fe)
	}
}
