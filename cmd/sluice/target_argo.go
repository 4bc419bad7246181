package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

func init() {
	registerTarget("argo", target{compile: compileArgo, flags: argoFlags})
	registerClusterTarget("argo", clusterTarget{submit: submitArgo, status: statusArgo, logs: logsArgo})
}

// flagMaxBytes is shared by every target that bounds its objects' size.
const flagMaxBytes = "max-bytes"

func argoFlags(cmd *cobra.Command, o *compileOptions) {
	if cmd.Flags().Lookup(flagMaxBytes) != nil {
		return
	}
	v := new(string)
	o.extra[flagMaxBytes] = v
	cmd.Flags().StringVar(v, flagMaxBytes, "", "largest object to write, in bytes or as a quantity such as 1Mi or 1536Ki (Argo's default: 1Mi, its own limit; etcd's is 1.5Mi)")
}

func compileArgo(p *ir.Pipeline, params map[string]ir.Value, o *compileOptions) ([]any, error) {
	opts := argo.Options{
		Namespace:      o.namespace,
		ServiceAccount: o.serviceAccount,
		LauncherImage:  o.launcherImage,
		CacheURL:       o.cacheURL,
		CacheSecret:    o.cacheSecret,
	}
	if v := o.extra[flagMaxBytes]; v != nil && *v != "" {
		q, err := resource.ParseQuantity(*v)
		if err != nil || q.Value() <= 0 {
			return nil, usageErrorf("--%s %q: want a positive number of bytes (1048576, 1Mi)", flagMaxBytes, *v)
		}
		opts.MaxBytes = int(q.Value())
	}
	wf, err := argo.Compile(p, params, opts)
	if err != nil {
		return nil, err
	}
	return []any{wf}, nil
}

// argoRuns connects to Argo: through the Argo Server when asked, else
// through Kubernetes. client is nil for the Argo Server, which serves no
// pod logs here. Tests replace it.
var argoRuns = func(c *connFlags) (runs argo.Runs, client *argo.Client, ns string, err error) {
	if c.argoURL != "" {
		ns := c.flags().Namespace
		if ns == "" {
			ns = "default"
		}
		return &argo.Server{URL: c.argoURL, Token: os.Getenv(argo.TokenEnv), Namespace: ns}, nil, ns, nil
	}
	cfg, ns, err := c.flags().Load()
	if err != nil {
		return nil, nil, "", err
	}
	cl, err := argo.NewClient(cfg, ns)
	if err != nil {
		return nil, nil, "", err
	}
	return cl, cl, ns, nil
}

func submitArgo(ctx context.Context, p *ir.Pipeline, objs []any, o *submitOptions, stdout, stderr io.Writer) error {
	wf, ok := objs[0].(*wfv1.Workflow)
	if !ok || len(objs) != 1 {
		return fmt.Errorf("argo: compiled %d objects, want one Workflow", len(objs))
	}
	runs, client, ns, err := argoRuns(&o.conn)
	if err != nil {
		return err
	}
	if o.logs && client == nil {
		return usageErrorf("--logs needs Kubernetes access; through --argo-server, use 'argo logs'")
	}
	created, err := runs.Submit(ctx, wf)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "submitted %s/%s\n", ns, created.Name)
	if !o.wait {
		fmt.Fprintln(stdout, created.Name)
		return nil
	}
	return followArgo(ctx, runs, client, p, ns, created.Name, followOptions{
		logs: o.logs, junit: o.junit, cancel: o.cancelOnInterrupt,
	}, stdout, stderr)
}

type followOptions struct {
	logs   bool
	junit  string
	cancel bool
}

// followArgo follows a run with the progress table until it ends, and
// mirrors its result.
func followArgo(ctx context.Context, runs argo.Runs, client *argo.Client, p *ir.Pipeline, ns, name string, fo followOptions, stdout, stderr io.Writer) error {
	f, _ := stdout.(*os.File)
	tty := f != nil && report.IsTerminal(f) && !fo.logs // log lines and a redrawn table do not mix
	progress := report.NewProgress(stdout, tty)
	var logsDone sync.WaitGroup
	var obs report.Observer = progress
	if fo.logs {
		obs = report.Multi(progress, streamLogs(ctx, client, p, name, stdout, &logsDone))
	}
	final, err := argo.Watch(ctx, runs, p, name, obs)
	logsDone.Wait()
	progress.Close()
	if ctx.Err() != nil {
		if fo.cancel {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := runs.Stop(stopCtx, name); err != nil {
				return fmt.Errorf("interrupted, and could not stop run %s: %w", name, err)
			}
			fmt.Fprintf(stderr, "interrupted: stopping run %s/%s (its onExit steps still run)\n", ns, name)
		} else {
			fmt.Fprintf(stderr, "interrupted: run %s/%s goes on without us\n"+
				"  follow it: sluice status %s -n %s --wait\n"+
				"  stop it:   argo stop %s -n %s   (or: kubectl patch workflow %s -n %s --type merge -p '{\"spec\":{\"shutdown\":\"Stop\"}}')\n",
				ns, name, name, ns, name, ns, name, ns)
		}
		return errInterrupted
	}
	if err != nil {
		return err
	}
	sum := argo.Summarize(p, final)
	if fo.junit != "" {
		if err := writeFileAtomic(fo.junit, func(w io.Writer) error { return report.WriteJUnit(w, sum) }); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fmt.Fprintf(stdout, "%s: %s in %s (run %s/%s)\n", sum.Pipeline, sum.Status, sum.Duration().Round(time.Second), ns, name)
	printFailures(stderr, sum)
	if final.Status.Phase != wfv1.WorkflowSucceeded {
		if msg := final.Status.Message; msg != "" {
			fmt.Fprintf(stderr, "workflow %s: %s\n", final.Status.Phase, msg)
		}
		return errSilent
	}
	return nil
}

// streamLogs is an Observer that starts streaming a step's log when the
// step starts running, each line prefixed with the step's name.
func streamLogs(ctx context.Context, client *argo.Client, p *ir.Pipeline, name string, w io.Writer, wg *sync.WaitGroup) report.Observer {
	var mu sync.Mutex
	started := map[string]bool{}
	out := &lockedWriter{w: w}
	return report.ObserverFunc(func(e report.Event) {
		if e.State != report.Running && !e.State.Done() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if started[e.Step] || e.State == report.Skipped {
			return
		}
		started[e.Step] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The pod shows up in the Workflow a moment before it can be read.
			for range 10 {
				wf, err := client.Get(ctx, name)
				if err != nil {
					return
				}
				err = client.Logs(ctx, p, wf, e.Step, true, &prefixWriter{w: out, prefix: "[" + e.Step + "] "})
				if err == nil || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
	})
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes whole lines, each with the prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := p.w.Write(append([]byte(p.prefix), p.buf[:i+1]...)); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
}

func statusArgo(ctx context.Context, o *statusOptions, stdout, stderr io.Writer) error {
	runs, client, ns, err := argoRuns(&o.conn)
	if err != nil {
		return err
	}
	wf, err := runs.Get(ctx, o.name)
	if err != nil {
		return err
	}
	p := argo.PipelineOf(wf)
	if o.wait && !wf.Status.Phase.Completed() {
		return followArgo(ctx, runs, client, p, ns, o.name, followOptions{}, stdout, stderr)
	}
	sum := argo.Summarize(p, wf)
	if !wf.Status.Phase.Completed() {
		sum.Status = report.Running
	}
	if o.output == formatJSON {
		return report.WriteJSON(stdout, sum)
	}
	phase := string(wf.Status.Phase)
	if phase == "" {
		phase = "Pending"
	}
	fmt.Fprintf(stdout, "%s/%s (pipeline %s): %s\n", ns, wf.Name, sum.Pipeline, phase)
	if wf.Status.Message != "" {
		fmt.Fprintf(stdout, "message: %s\n", wf.Status.Message)
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
	if wf.Status.Phase.Completed() && wf.Status.Phase != wfv1.WorkflowSucceeded {
		return errSilent
	}
	return nil
}

func logsArgo(ctx context.Context, o *clusterLogsOptions, stdout io.Writer) error {
	runs, client, _, err := argoRuns(&o.conn)
	if err != nil {
		return err
	}
	if client == nil {
		return errors.New("logs need Kubernetes access; through the Argo Server, use 'argo logs'")
	}
	wf, err := runs.Get(ctx, o.name)
	if err != nil {
		return err
	}
	return client.Logs(ctx, argo.PipelineOf(wf), wf, o.step, o.follow, stdout)
}
