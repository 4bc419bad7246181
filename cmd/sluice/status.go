package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/internal/report"
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
name it printed (the Workflow's name on Argo, the PipelineRun's on Tekton).
Without -t, the run is looked up on each cluster target in turn. With --wait,
follow it with the live progress table until it ends; the exit code is then
its result.`,
		Example: `  sluice status housing-x7k2p -n ml
  sluice status housing-x7k2p -t tekton -n ml --wait
  sluice status housing-x7k2p -n ml -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runStatus(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&o.target, "target", "t", "", "engine the run is on (default: the one that has it)")
	o.conn.register(cmd, true)
	cmd.Flags().BoolVar(&o.wait, "wait", false, "follow the run until it ends")
	addOutputFlag(cmd, &o.output, formatText, formatJSON)
	return cmd
}

func runStatus(ctx context.Context, o *statusOptions, stdout, stderr io.Writer) error {
	run, err := findRun(ctx, o.target, &o.conn, o.name)
	if err != nil {
		return err
	}
	st, err := run.read(ctx)
	if err != nil {
		return err
	}
	if o.wait && !st.ended {
		return follow(ctx, run, followOptions{}, stdout, stderr)
	}
	sum := st.sum
	if !st.ended {
		sum.Status = report.Running
	}
	if o.output == formatJSON {
		return report.WriteJSON(stdout, sum)
	}
	id := run.id()
	fmt.Fprintf(stdout, "%s/%s (pipeline %s): %s\n", id.ns, id.name, sum.Pipeline, st.phase)
	if st.message != "" {
		fmt.Fprintf(stdout, "message: %s\n", st.message)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATE\tATTEMPTS\tDURATION\tMESSAGE")
	for _, s := range sum.Steps {
		d := "-"
		if s.Duration() > 0 {
			d = s.Duration().Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Name, s.State, s.Attempts, d, strings.ReplaceAll(s.Message, "\n", " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.ended && !st.ok {
		return errSilent
	}
	return nil
}
