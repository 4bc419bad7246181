package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// subcommands builds each subcommand of sluice. A subcommand is one file
// with a newXCmd function (flags, help, arguments) and a runX(ctx, opts)
// function (the work); add its constructor here.
var subcommands = []func() *cobra.Command{
	newValidateCmd,
	newGraphCmd,
	newRunCmd,
	newCompileCmd,
	newSubmitCmd,
	newStatusCmd,
	newLogsCmd,
	newCacheCmd,
	newConformanceCmd,
	newPluginCmd,
	newInstallCmd,
	newSchemaCmd,
	newVersionCmd,
}

// newRootCmd builds the command tree writing to stdout and stderr (set
// first: cobra's completion command keeps the writer it is built with).
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "sluice",
		Short: "Run one pipeline file on Argo Workflows, Tekton or this machine, with step caching everywhere",
		Long: `Sluice takes one engine-neutral pipeline file (sluice.dev/v1alpha1, kind Pipeline)
and checks it, renders it, or runs it, with the same step caching on every backend.

Results go to stdout and problems to stderr. Exit codes: 0 success, 1 failure
(for example an invalid pipeline), 2 a mistake in the command line.

Shell completion: see 'sluice completion --help'.`,
		SilenceErrors: true, // execute prints errors, once, in one format
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	addCompletionCmd(root)
	rejectUnknownSubcommands(root)
	markRunErrors(root)
	return root
}

// rejectUnknownSubcommands makes each command that only holds subcommands
// (sluice completion; later sluice cache) print its help when called alone
// and reject an unknown subcommand as a usage error. Cobra does this for
// the root only; below it, an unknown subcommand prints help and exits 0.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		rejectUnknownSubcommands(c)
	}
	if !cmd.HasParent() || cmd.Runnable() || !cmd.HasSubCommands() {
		return
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := "unknown command %q for %q"
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageErrorf(msg, args[0], cmd.CommandPath())
	}
}

// completePipelineFiles offers pipeline files for a command's FILE
// arguments; max is how many it takes (0: any number).
func completePipelineFiles(max int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return []cobra.Completion{"yaml", "yml", "json"}, cobra.ShellCompDirectiveFilterFileExt
	}
}
