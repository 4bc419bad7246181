package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/internal/report"
)

type logsOptions struct {
	run, step string
	runsDir   string
	cluster   clusterLogsOptions
}

// clusterLogsOptions are logs' options for a run on a cluster.
type clusterLogsOptions struct {
	target string
	conn   connFlags
	follow bool
}

func newLogsCmd() *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs RUN [STEP]",
		Short: "Print the logs of a run, or of one of its steps",
		Long: `Print the logs of a run's steps, or of one step. RUN is a run id from
'sluice run' (or "last" for the newest run), or the name of a run that
'sluice submit' started on a cluster: a name that is not a local run is
looked up there (or say so with -t). For a step in a loop, STEP may name one
iteration, as train[2].`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.run = args[0]
			if len(args) == 2 {
				o.step = args[1]
			}
			return runLogs(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.runsDir, "runs-dir", filepath.Join(".sluice", "runs"), "where run directories are")
	cmd.Flags().StringVarP(&o.cluster.target, "target", "t", "", "the run is on this engine's cluster, not local")
	cmd.Flags().BoolVarP(&o.cluster.follow, "follow", "f", false, "for a run on a cluster, stream the logs until the steps end")
	o.cluster.conn.register(cmd, true)
	return cmd
}

// resolveRun finds a run directory by id; "last" is the newest.
func resolveRun(runsDir, id string) (string, error) {
	if id == "last" {
		ents, err := os.ReadDir(runsDir)
		if err != nil {
			return "", fmt.Errorf("no runs in %s: %w", runsDir, err)
		}
		var ids []string
		for _, e := range ents {
			if e.IsDir() {
				ids = append(ids, e.Name())
			}
		}
		if len(ids) == 0 {
			return "", fmt.Errorf("no runs in %s", runsDir)
		}
		sort.Strings(ids)
		id = ids[len(ids)-1]
	}
	dir := filepath.Join(runsDir, id)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("run %q: not found in %s", id, runsDir)
	}
	return dir, nil
}

func runLogs(ctx context.Context, o *logsOptions, stdout io.Writer) error {
	if o.cluster.target != "" {
		return runClusterLogs(ctx, o, stdout)
	}
	dir, err := resolveRun(o.runsDir, o.run)
	if err != nil {
		// Not a local run: perhaps one that sluice submit started.
		if o.run == "last" {
			return err
		}
		if cerr := runClusterLogs(ctx, o, stdout); cerr != nil {
			return fmt.Errorf("%w; on the cluster: %w", err, cerr)
		}
		return nil
	}
	if o.step != "" {
		err := copyFile(stdout, local.LogPath(dir, o.step), o.step)
		if _, ferr := local.FindTask(dir, o.step); err != nil && ferr == nil {
			return nil // it ran and printed nothing
		}
		return err
	}
	f, err := os.Open(filepath.Join(dir, "run.json"))
	if err != nil {
		return fmt.Errorf("run %s has no summary (still running, or killed): %w", o.run, err)
	}
	defer f.Close()
	sum, err := report.ReadJSON(f)
	if err != nil {
		return err
	}
	steps := append([]report.StepResult(nil), sum.Steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Finished.Before(steps[j].Finished) })
	for _, s := range steps {
		path := local.LogPath(dir, s.Name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		fmt.Fprintf(stdout, "==> %s (%s) <==\n", s.Name, s.State)
		if err := copyFile(stdout, path, s.Name); err != nil {
			return err
		}
	}
	return nil
}

func runClusterLogs(ctx context.Context, o *logsOptions, stdout io.Writer) error {
	run, err := findRun(ctx, o.cluster.target, &o.cluster.conn, o.run)
	if err != nil {
		return err
	}
	return run.logs(ctx, o.step, o.cluster.follow, stdout)
}

func copyFile(w io.Writer, path, step string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("step %q has no log in this run", step)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
