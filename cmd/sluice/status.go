package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

type statusOptions struct {
	name   string
	target string
	conn   connFlags
	output string
	wait   bool
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show the steps of a run submitted to a cluster",
		Long: `Show the state of every step of a run that 'sluice submit' started, by the
name it printed (the Workflow's name on Argo). With --wait, follow it with the
live progress table until it ends; the exit code is then its result.`,
		Example: `  sluice status housing-x7k2p -n ml
  sluice status housing-x7k2p -n ml --wait
  sluice status housing-x7k2p -n ml -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runStatus(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&o.target, "target", "t", "", "engine the run is on (default: the only one)")
	o.conn.register(cmd, true)
	cmd.Flags().BoolVar(&o.wait, "wait", false, "follow the run until it ends")
	addOutputFlag(cmd, &o.output, formatText, formatJSON)
	return cmd
}

func runStatus(ctx context.Context, o *statusOptions, stdout, stderr io.Writer) error {
	ct, err := clusterTargetFor(o.target)
	if err != nil {
		return err
	}
	return ct.status(ctx, o, stdout, stderr)
}
