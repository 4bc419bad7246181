package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
)

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect and maintain the step cache",
		Long: `Inspect and maintain the step cache: the action cache (key → recorded outputs)
and the content-addressed blobs (cas/sha256/<digest>) that hold artifacts.`,
	}
	cmd.AddCommand(newCacheLsCmd(), newCacheExplainCmd(), newCacheGCCmd(), newCacheVerifyCmd(), newCachePutCmd())
	return cmd
}

func newCacheLsCmd() *cobra.Command {
	var c cacheFlags
	var stepName, output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List cache entries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" {
				return usageErrorf("unknown output format %q: use json", output)
			}
			store, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			entries, err := listEntries(cmd.Context(), store, func(e *cache.Entry) bool { return stepName == "" || e.Step == stepName })
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tPIPELINE\tSTEP\tCREATED\tOUTPUTS\tSIZE")
			for _, e := range entries {
				var size int64
				for _, a := range e.Artifacts {
					size += a.Size
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.Key.String()[:12], e.Pipeline, e.Step,
					e.Created.Local().Format(time.DateTime), len(e.Params)+len(e.Artifacts), humanBytes(size))
			}
			return tw.Flush()
		},
	}
	c.register(cmd, false)
	cmd.Flags().StringVar(&stepName, "step", "", "only entries of this step")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

// listEntries returns the entries that keep says to, newest first.
func listEntries(ctx context.Context, s cache.Store, keep func(*cache.Entry) bool) ([]*cache.Entry, error) {
	var out []*cache.Entry
	err := s.ListEntries(ctx, func(e *cache.Entry) error {
		if keep(e) {
			out = append(out, e)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newCacheExplainCmd() *cobra.Command {
	var c cacheFlags
	var run, runsDir string
	cmd := &cobra.Command{
		Use:   "explain STEP",
		Short: "Tell why a step missed the cache: which key components changed",
		Long: `Explain compares the cache key of STEP, as it was resolved in a local run (the
newest by default), with that step's newest cache entry, and lists the key
components that changed: image, command, args, env.NAME, workingDir, outputs,
params.NAME, artifacts.NAME, salt. STEP is the name the run shows ("train[1]"
for a forEach iteration).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			return runCacheExplain(cmd.Context(), store, runsDir, run, args[0], cmd.OutOrStdout())
		},
	}
	c.register(cmd, false)
	cmd.Flags().StringVar(&run, "run", "last", "the run whose resolved step to explain")
	cmd.Flags().StringVar(&runsDir, "runs-dir", filepath.Join(".sluice", "runs"), "where run directories are")
	return cmd
}

func runCacheExplain(ctx context.Context, store cache.Store, runsDir, run, name string, w io.Writer) error {
	dir, err := resolveRun(runsDir, run)
	if err != nil {
		return err
	}
	t, err := local.FindTask(dir, name)
	if errors.Is(err, os.ErrNotExist) {
		return explainUnrun(ctx, store, dir, name, w)
	}
	if err != nil {
		return err
	}
	key := t.Key()
	e, err := store.GetEntry(ctx, key)
	switch {
	case err == nil && e.Run != t.Run:
		fmt.Fprintf(w, "%s: hit in run %s: key %s was recorded by run %s at %s\n", name, t.Run, key, e.Run, e.Created.Local().Format(time.DateTime))
		return nil
	case err != nil && !errors.Is(err, cache.ErrNotFound):
		return err
	}
	// A miss: compare with the step's newest entry from another run (the
	// same run's entries are other forEach iterations).
	entries, err := listEntries(ctx, store, func(e *cache.Entry) bool {
		return e.Pipeline == t.Pipeline && e.Step == t.Step && e.Key != key && e.Run != t.Run
	})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(w, "%s: miss in run %s: key %s; the cache holds no other entry of step %s of pipeline %s\n", name, t.Run, key, t.Step, t.Pipeline)
		return nil
	}
	last := entries[0]
	diff := t.Components().Diff(last.Components)
	fmt.Fprintf(w, "%s: miss in run %s: key %s\nnewest other entry of step %s: key %s (run %s, %s)\n", name, t.Run, key, t.Step, last.Key, last.Run, last.Created.Local().Format(time.DateTime))
	if len(diff) == 0 {
		fmt.Fprintln(w, "no key component differs: the entry was removed or expired (cache.ttl)")
		return nil
	}
	fmt.Fprintf(w, "changed: %s\n", strings.Join(diff, ", "))
	return nil
}

func newCacheGCCmd() *cobra.Command {
	var c cacheFlags
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete old entries and the blobs no entry needs",
		Long: `Delete entries created more than --older-than ago, then every blob that no
remaining entry refers to and that is itself older than --older-than (so a
running step's fresh uploads are left alone).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			return runCacheGC(cmd.Context(), store, olderThan, time.Now(), cmd.OutOrStdout())
		},
	}
	c.register(cmd, false)
	cmd.Flags().DurationVar(&olderThan, "older-than", 30*24*time.Hour, "age beyond which entries go")
	return cmd
}

func runCacheGC(ctx context.Context, store cache.Store, olderThan time.Duration, now time.Time, w io.Writer) error {
	cutoff := now.Add(-olderThan)
	keep := map[cache.Digest]bool{}
	var old []cache.Key
	err := store.ListEntries(ctx, func(e *cache.Entry) error {
		if e.Created.Before(cutoff) {
			old = append(old, e.Key)
			return nil
		}
		for _, a := range e.Artifacts {
			keep[a.Digest] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range old {
		if err := store.DeleteEntry(ctx, k); err != nil && !errors.Is(err, cache.ErrNotFound) {
			return err
		}
	}
	var blobs []cache.Digest
	var freed int64
	err = store.ListBlobs(ctx, func(d cache.Digest, size int64, mod time.Time) error {
		if !keep[d] && mod.Before(cutoff) {
			blobs = append(blobs, d)
			freed += size
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range blobs {
		if err := store.DeleteBlob(ctx, d); err != nil && !errors.Is(err, cache.ErrNotFound) {
			return err
		}
	}
	fmt.Fprintf(w, "removed %d entries and %d blobs (%s)\n", len(old), len(blobs), humanBytes(freed))
	return nil
}

func newCacheVerifyCmd() *cobra.Command {
	var c cacheFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Read every blob back against its digest and check every entry's artifacts",
		Long: `Verify reads every blob and checks it against its digest (a corrupt blob is
reported and removed), then checks that every entry's artifacts are present.
Exit code 1 when anything was wrong. To re-run cached steps and compare their
outputs instead, run a pipeline with SLUICE_CACHE_VERIFY=1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			return runCacheVerify(cmd.Context(), store, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.register(cmd, false)
	return cmd
}

func runCacheVerify(ctx context.Context, store cache.Store, stdout, stderr io.Writer) error {
	var digests []cache.Digest
	if err := store.ListBlobs(ctx, func(d cache.Digest, _ int64, _ time.Time) error {
		digests = append(digests, d)
		return nil
	}); err != nil {
		return err
	}
	bad := 0
	for _, d := range digests {
		if _, err := cache.VerifyBlob(ctx, store, d); err != nil {
			fmt.Fprintf(stderr, "blob %s: %v\n", d, err)
			bad++
		}
	}
	entries := 0
	err := store.ListEntries(ctx, func(e *cache.Entry) error {
		entries++
		for name, a := range e.Artifacts {
			if _, err := store.StatBlob(ctx, a.Digest); err != nil {
				fmt.Fprintf(stderr, "entry %s (%s/%s): artifact %s: %v\n", e.Key.String()[:12], e.Pipeline, e.Step, name, err)
				bad++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked %d blobs and %d entries: %d problems\n", len(digests), entries, bad)
	if bad > 0 {
		return errSilent
	}
	return nil
}

func newCachePutCmd() *cobra.Command {
	var c cacheFlags
	cmd := &cobra.Command{
		Use:   "put PATH",
		Short: "Store a file or directory in the content-addressed store and print its URI",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			ref, err := cache.PutPath(cmd.Context(), store, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ref.URI())
			return nil
		},
	}
	c.register(cmd, false)
	return cmd
}

// explainUnrun explains a step that did not run its command in the run: a
// cache hit (the run's summary has its key), or a step that was skipped or
// never reached.
func explainUnrun(ctx context.Context, store cache.Store, dir, name string, w io.Writer) error {
	f, err := os.Open(filepath.Join(dir, "run.json"))
	if err != nil {
		return fmt.Errorf("step %q did not run in %s", name, filepath.Base(dir))
	}
	defer f.Close()
	sum, err := report.ReadJSON(f)
	if err != nil {
		return err
	}
	s := sum.Step(name)
	switch {
	case s == nil:
		return fmt.Errorf("run %s has no step %q", sum.Run, name)
	case s.State != report.Cached:
		fmt.Fprintf(w, "%s: %s in run %s: %s\n", name, s.State, sum.Run, s.Message)
		return nil
	}
	key, err := cache.ParseKey(s.Key)
	if err != nil {
		return err
	}
	e, err := store.GetEntry(ctx, key)
	if err != nil {
		fmt.Fprintf(w, "%s: hit in run %s: key %s (the entry is gone now: %v)\n", name, sum.Run, key, err)
		return nil
	}
	fmt.Fprintf(w, "%s: hit in run %s: key %s was recorded by run %s at %s\n", name, sum.Run, key, e.Run, e.Created.Local().Format(time.DateTime))
	return nil
}
