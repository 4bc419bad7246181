package tekton_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/adapters/tekton"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/ir"
)

// checkCompiles is the property: a valid pipeline compiles, in both
// forms, with and without the cache plugin, to objects that Tekton's own
// validation accepts, or is refused with field errors that each say what
// Tekton cannot express (ErrUnsupported) or which of its limits it
// exceeds (ErrLimit). With the plugin it compiles exactly when it does
// without, to the same objects but for the CachedSteps (checkPlugin). It
// reports whether the pipeline compiled.
func checkCompiles(t *testing.T, p *ir.Pipeline, params map[string]ir.Value) bool {
	t.Helper()
	ok := true
	for _, emit := range []tekton.Emit{tekton.EmitPipelineRun, tekton.EmitPipeline} {
		var without *tekton.Objects
		for _, plugin := range []bool{false, true} {
			opts := testOptions
			opts.Emit, opts.CachePlugin = emit, plugin
			objs, err := tekton.Compile(p, params, opts)
			if plugin && (err == nil) != (without != nil) {
				t.Fatalf("%s: compiles with the cache plugin: %v; without: %v", emit, err == nil, without != nil)
			}
			if err != nil {
				fes := ir.Errors(err)
				if len(fes) == 0 {
					t.Fatalf("Compile: %v: not a list of field errors", err)
				}
				for _, fe := range fes {
					if !errors.Is(fe, tekton.ErrUnsupported) && !errors.Is(fe, tekton.ErrLimit) {
						t.Fatalf("Compile: %v: neither unsupported nor a limit", fe)
					}
				}
				ok = false
				continue
			}
			mustValidate(t, objs)
			if plugin {
				checkPlugin(t, without, objs)
			}
			without = objs
		}
	}
	return ok
}

// seeds are pipeline files: the examples, the cases of testdata, and ir's
// own fuzz corpus.
func seeds(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob("../../examples/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, c := range plantest.Cases(t) {
		out = append(out, c.Section("pipeline.yaml"))
	}
	corpus, _ := filepath.Glob("../../ir/testdata/fuzz/FuzzParse/*")
	for _, f := range corpus {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// go test fuzz v1, then []byte("...").
		_, lit, _ := strings.Cut(string(b), "[]byte(")
		s, err := strconv.Unquote(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(lit), ")")))
		if err == nil {
			out = append(out, []byte(s))
		}
	}
	return out
}

// FuzzCompile: every pipeline that ir accepts compiles to objects that
// Tekton accepts, or is refused for a reason that names Tekton.
func FuzzCompile(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ir.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		params, err := p.ResolveParams(nil)
		if err != nil {
			return // a parameter without a default: -p would set it
		}
		checkCompiles(t, p, params)
	})
}

// TestRandomPipelines: the property over random valid pipelines that use
// every feature of the IR. Most must compile; the rest may only be refused
// for documented reasons.
func TestRandomPipelines(t *testing.T) {
	n, compiled := 400, 0
	if testing.Short() {
		n = 50
	}
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		p := randomPipeline(r)
		if err := p.Validate(); err != nil {
			t.Fatalf("seed %d: the generator made an invalid pipeline: %v", i, err)
		}
		params, err := p.ResolveParams(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if checkCompiles(t, p, params) {
				compiled++
			}
		})
	}
	if compiled < n*3/4 {
		t.Errorf("%d of %d random pipelines compiled; want most", compiled, n)
	}
	t.Logf("%d of %d random pipelines compiled; the others use what Tekton cannot express", compiled, n)
}

// gen makes a random valid pipeline.
type gen struct {
	r     *rand.Rand
	n     int
	steps []genStep // command steps so far, in declaration order
}

type genStep struct {
	name     string
	params   []string
	arts     []string
	loops    []string // names of the looping nodes around it, itself included
	ancestry []string // names of the groups around it
}

func randomPipeline(r *rand.Rand) *ir.Pipeline {
	g := &gen{r: r}
	grid := ir.NewValue([]any{1, 2.5, "x"})
	p := &ir.Pipeline{
		APIVersion: ir.APIVersion, Kind: ir.Kind,
		Metadata: ir.Metadata{Name: "random", Labels: map[string]string{"team": "ml"}},
		Spec: ir.Spec{Params: []ir.Param{
			{Name: "n", Type: ir.TypeInt, Default: ptr(ir.NewValue(3))},
			{Name: "mode", Type: ir.TypeString, Default: ptr(ir.NewValue("fast $(params.x)"))},
			{Name: "grid", Type: ir.TypeList, Default: &grid},
		}},
	}
	for range 1 + r.IntN(8) {
		p.Spec.Steps = append(p.Spec.Steps, g.step(0, nil, nil, p.Spec.Steps))
	}
	for i := range r.IntN(3) {
		s := ir.Step{Name: "exit-" + strconv.Itoa(i), Image: "busybox", Command: []string{"echo", "${{ pipeline.status }} ${{ params.mode }}"}}
		if r.IntN(2) == 0 {
			s.When = `${{ pipeline.status }} == "Failed" || ${{ params.n }} > 5`
		}
		p.Spec.OnExit = append(p.Spec.OnExit, s)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func (g *gen) name() string {
	g.n++
	return "s" + strconv.Itoa(g.n)
}

// visible are the steps a node inside groups (ancestry) and loops may
// read: declared before it, not inside a loop it is outside of (their
// outputs are lists; never their artifacts).
func (g *gen) visible(loops []string) (params []string, arts []string) {
	for _, s := range g.steps {
		inside := true
		for _, l := range s.loops {
			if !contains(loops, l) {
				inside = false
			}
		}
		for _, o := range s.params {
			params = append(params, "${{ steps."+s.name+".outputs.params."+o+" }}")
		}
		if inside {
			for _, a := range s.arts {
				arts = append(arts, "${{ steps."+s.name+".outputs.artifacts."+a+" }}")
			}
		}
	}
	return params, arts
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (g *gen) pick(l []string) string { return l[g.r.IntN(len(l))] }

// step makes a command step or, above depth 2 less often, a group.
func (g *gen) step(depth int, loops, ancestry []string, siblings []ir.Step) ir.Step {
	r := g.r
	s := ir.Step{Name: g.name()}
	if r.IntN(5) == 0 {
		s.ForEach = &ir.ForEach{Parallelism: r.IntN(3)}
		switch r.IntN(4) {
		case 0:
			s.ForEach.Items = ptr(ir.NewValue("${{ params.grid }}"))
		case 1:
			s.ForEach.Items = ptr(ir.NewValue([]any{}))
		default:
			l := []any{}
			for range 1 + r.IntN(3) {
				l = append(l, map[string]any{"k": r.IntN(9), "s": "$(x)"})
			}
			s.ForEach.Items = ptr(ir.NewValue(l))
		}
	}
	myLoops := loops
	if s.ForEach != nil {
		myLoops = append(append([]string(nil), loops...), s.Name)
	}
	params, arts := g.visible(loops)
	if r.IntN(4) == 0 {
		conds := []string{"${{ params.n }} > " + strconv.Itoa(r.IntN(6)), `${{ params.mode }} != "full"`}
		if len(params) > 0 {
			conds = append(conds, g.pick(params)+` == "1"`, g.pick(params)+" >= 2")
		}
		if s.ForEach != nil && r.IntN(3) == 0 {
			conds = append(conds, `"${{ item }}" != "x"`)
		}
		s.When = g.pick(conds)
		if r.IntN(3) == 0 {
			s.When = "(" + s.When + ") && " + g.pick(conds)
		}
	}
	if len(siblings) > 0 && r.IntN(3) == 0 {
		s.After = []string{siblings[r.IntN(len(siblings))].Name}
	}
	if depth < 2 && r.IntN(6) == 0 {
		s.Group = &ir.Group{}
		anc := append(append([]string(nil), ancestry...), s.Name)
		for range 1 + r.IntN(3) {
			s.Group.Steps = append(s.Group.Steps, g.step(depth+1, myLoops, anc, s.Group.Steps))
		}
		return s
	}
	s.Image = "busybox:1.36"
	text := []string{"echo", "${{ params.n }}", "${{ pipeline.name }}/${{ pipeline.runId }}"}
	if len(params) > 0 {
		text = append(text, g.pick(params))
	}
	if len(myLoops) > 0 {
		text = append(text, "${{ item }}")
		if s.ForEach != nil && r.IntN(2) == 0 && !strings.Contains(fmt.Sprint(s.ForEach.Items.Interface()), "grid") {
			if _, isList := s.ForEach.Items.List(); isList {
				text = append(text, "${{ item.k }}")
			}
		}
	}
	s.Command = []string{"sh", "-c", strings.Join(text, " ")}
	if len(arts) > 0 && r.IntN(2) == 0 {
		s.Inputs = &ir.Inputs{Artifacts: []ir.InputArtifact{{Name: "in", From: g.pick(arts)}}}
	}
	gs := genStep{name: s.Name, loops: myLoops, ancestry: ancestry}
	if r.IntN(2) == 0 {
		s.Outputs = &ir.Outputs{Params: []ir.OutputParam{{Name: "v", Type: ir.TypeInt}}}
		gs.params = []string{"v"}
		if r.IntN(2) == 0 {
			s.Outputs.Artifacts = []ir.OutputArtifact{{Name: "a"}}
			gs.arts = []string{"a"}
		}
	}
	if r.IntN(4) == 0 {
		s.Retry = &ir.Retry{Limit: 2}
		s.Timeout = &ir.Duration{Duration: 90_000_000_000}
		s.Resources = &ir.Resources{Requests: map[string]string{"cpu": "500m"}, GPUs: &ir.GPUs{Count: 1}}
		s.NodeSelector = map[string]string{"pool": "gpu"}
		s.Env = []ir.EnvVar{{Name: "TOKEN", Secret: &ir.SecretRef{Name: "creds", Key: "token"}}}
		s.Volumes = []ir.Volume{{Name: "scratch", MountPath: "/scratch", EmptyDir: &ir.EmptyDirVolume{}}}
	}
	g.steps = append(g.steps, gs)
	return s
}
