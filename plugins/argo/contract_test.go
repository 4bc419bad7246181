package argo_test

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"
	"github.com/argoproj/argo-workflows/v3/util/template"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/google/go-cmp/cmp"

	adapter "github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/launch"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	plugin "github.com/sluice-dev/sluice/plugins/argo"
	"github.com/sluice-dev/sluice/plugins/argo/check"
	"github.com/sluice-dev/sluice/plugins/probe"
)

// TestWorkflowContract plays a step of a Workflow that adapters/argo
// compiled with the cache plugin through Argo's own substitution (the
// task resolved, the wrapper's DAG, then each template bound to its
// inputs) and hands its check template to the plugin as the agent would:
// before the step ran, a miss; after its container ran the launcher (with
// the store from its environment, as the pod has it), a hit whose outputs
// are exactly the wrapper's, with the texts the launcher wrote.
func TestWorkflowContract(t *testing.T) {
	store := "file://" + filepath.Join(t.TempDir(), "store")
	p, params := plantest.ParsePipeline(t, "p.yaml", []byte(stepPipeline), []string{"n=5"})
	wf, err := adapter.Compile(p, params, adapter.Options{LauncherImage: "ghcr.io/sluice-dev/sluice-exec:test", CacheURL: store, CachePlugin: true})
	if err != nil {
		t.Fatal(err)
	}
	tmpls := map[string]*wfv1.Template{}
	for i := range wf.Spec.Templates {
		tmpls[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	globals := common.Parameters{"workflow.name": "run-1", "workflow.namespace": "ml", "workflow.uid": "uid-1"}
	for _, a := range wf.Spec.Arguments.Parameters {
		globals["workflow.parameters."+a.Name] = a.Value.String()
	}
	bind := func(name string, args wfv1.Arguments) *wfv1.Template {
		t.Helper()
		tm, ok := tmpls[name]
		if !ok {
			t.Fatalf("no template %s", name)
		}
		out, err := common.ProcessArgs(tm.DeepCopy(), &args, globals, common.Parameters{}, false, "ml", nil)
		if err != nil {
			t.Fatalf("ProcessArgs(%s): %v", name, err)
		}
		return out
	}

	// The step's task in the main DAG, resolved; its wrapper bound.
	task := tmpls["sluice-main"].DAG.Tasks[0]
	b, _ := json.Marshal(task)
	scope := map[string]any{}
	for k, v := range globals {
		scope[k] = v
	}
	s, err := template.ReplaceStrictAny(string(b), scope, []string{"tasks", "steps"})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(s), &task); err != nil {
		t.Fatal(err)
	}
	w := bind(task.Template, task.Arguments)
	checkTask, run := w.DAG.Tasks[0], w.DAG.Tasks[1]
	checkTmpl := bind(checkTask.Template, checkTask.Arguments)
	runTmpl := bind(run.Template, run.Arguments)

	srv := httptest.NewServer(&plugin.Plugin{Prober: &probe.Prober{}, Token: token})
	defer srv.Close()
	req, _ := json.Marshal(executorplugins.ExecuteTemplateArgs{
		Workflow: &executorplugins.Workflow{ObjectMeta: executorplugins.ObjectMeta{Name: "run-1", Namespace: "ml", UID: "uid-1"}},
		Template: checkTmpl,
	})
	_, reply, raw := post(t, srv.URL, token, req)
	if reply == nil || reply.Node == nil || reply.Node.Phase != wfv1.NodeSucceeded || reply.Node.Outputs != nil {
		t.Fatalf("before the step ran: %s, want a Succeeded miss with no outputs", raw)
	}

	// The pod: the container's args, its environment from the
	// Workflow's template defaults.
	env := map[string]string{}
	for _, e := range wf.Spec.TemplateDefaults.Container.Env {
		env[e.Name] = e.Value
	}
	if env[launch.CacheEnv] != store {
		t.Fatalf("the pod's %s is %q, want %q", launch.CacheEnv, env[launch.CacheEnv], store)
	}
	ran := plantest.Launch(t, runTmpl.Container.Args[1:], func(k string) string { return env[k] })

	_, reply, raw = post(t, srv.URL, token, req)
	if reply == nil || reply.Node == nil || reply.Node.Phase != wfv1.NodeSucceeded || reply.Node.Outputs == nil {
		t.Fatalf("after the step ran: %s, want a hit", raw)
	}
	got := map[string]string{}
	for _, prm := range reply.Node.Outputs.Parameters {
		got[prm.Name] = prm.Value.String()
	}
	want := map[string]string{}
	for _, prm := range w.Outputs.Parameters {
		want[prm.Name] = "?"
	}
	want["v"], want["f"], want[check.OutputCached] = ran.Outputs["params.v"], ran.Outputs["artifacts.f"], "true"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the hit's outputs against the wrapper's (-want +got):\n%s", diff)
	}
}
