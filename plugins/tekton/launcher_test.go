package tekton

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	trres "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"

	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
)

// TestLauncherArgsAsTekton: launcherArgs substitutes a Task's parameters
// and contexts exactly as Tekton's TaskRun reconciler does
// (taskrun/resources.ApplyParameters with the Task's parameters as
// defaults, then ApplyContexts): strings, arrays (whole and by index),
// objects, defaults, defaults that refer to other parameters, the three
// ways of naming a parameter, and hostile values.
func TestLauncherArgsAsTekton(t *testing.T) {
	args := []string{
		"run", "--spec-b64=xyz",
		"--in=params.s=$(params.s)", `--in=params.q=$(params["s"])`, "--in=params.r=$(params['s'])",
		"--in=params.d=$(params.d)", "--in=params.ref=$(params.ref)",
		"--in=params.o=$(params.o.k)", "--in=params.e=$(params.a[1])",
		"--in=ctx=$(context.taskRun.name)/$(context.task.name)/$(context.taskRun.namespace)/$(context.taskRun.uid)/$(context.task.retry-count)",
		"--out=params.v=$(results.v.path)",
		"--", "$(params.a[*])", "$(params.none)",
	}
	specs := v1.ParamSpecs{
		{Name: "s", Type: v1.ParamTypeString},
		{Name: "d", Type: v1.ParamTypeString, Default: v1.NewStructuredValues("default")},
		{Name: "ref", Type: v1.ParamTypeString, Default: v1.NewStructuredValues("<$(params.d)>")},
		{Name: "a", Type: v1.ParamTypeArray},
		{Name: "o", Type: v1.ParamTypeObject, Properties: map[string]v1.PropertySpec{"k": {Type: v1.ParamTypeString}}},
	}
	for _, h := range append(plantest.Hostile, `["a","b"]`) {
		ts := &v1.TaskSpec{Params: specs, Steps: []v1.Step{
			{Name: "install", Image: "launcher", Command: []string{plan.ImageLauncher}, Args: []string{"cp"}},
			{Name: "run", Image: "busybox", Command: []string{plan.Launcher}, Args: args},
		}}
		tr := &v1.TaskRun{}
		tr.Name, tr.Namespace, tr.UID = "run-x-train-0", "ml", "uid-1"
		tr.Spec.Params = v1.Params{
			{Name: "s", Value: *v1.NewStructuredValues(h)},
			{Name: "a", Value: *v1.NewStructuredValues(h, "$(params.s)", "")},
			{Name: "o", Value: *v1.NewObject(map[string]string{"k": h})},
		}
		got, err := launcherArgs(ts, tr)
		if err != nil {
			t.Fatal(err)
		}
		want := trres.ApplyParameters(ts, tr, ts.Params...)
		want = trres.ApplyContexts(want, tr.Name, tr)
		if diff := cmp.Diff(want.Steps[1].Args[1:], got); diff != "" {
			t.Errorf("%q: the arguments (-Tekton +launcherArgs):\n%s", h, diff)
		}
	}
}

// TestOutputResults: the outputs a launcher writes map to the results
// named in its --out flags, in their order.
func TestOutputResults(t *testing.T) {
	got, err := outputResults([]string{"--spec-b64=x", "--out=cached=$(results.sluice-cached.path)",
		"--out", "params.v=$(results.v.path)", "--out=artifacts.m=$(results.sluice-5f6d.path)", "--", "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []outResult{{"cached", "sluice-cached"}, {"params.v", "v"}, {"artifacts.m", "sluice-5f6d"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(outResult{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := outputResults([]string{"--out=params.v=/tmp/v"}); err == nil {
		t.Error("an --out path that is no result's: no error")
	}
}
