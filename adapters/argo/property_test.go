package argo_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/adapters/argo"
	"github.com/sluice-dev/sluice/internal/plan/plantest"
	"github.com/sluice-dev/sluice/ir"
)

// TestProperty: every pipeline that ir accepts compiles to a Workflow
// that Argo's validator accepts, with the cache plugin and without. The
// pipelines are random, made from a fixed seed per case, with every
// feature of IR.md; the ones ir rejects are skipped, and most are not.
func TestProperty(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	valid := 0
	for seed := range n {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 7))}
		p := g.pipeline()
		src, err := ir.Encode(p)
		if err != nil {
			t.Fatalf("seed %d: encode: %v", seed, err)
		}
		parsed, err := ir.Parse(fmt.Sprintf("seed-%d.json", seed), src)
		if err != nil {
			continue // the generator made something ir rejects
		}
		valid++
		checkCompiles(t, fmt.Sprintf("seed %d", seed), parsed, src)
	}
	if valid < n/2 {
		t.Errorf("only %d of %d generated pipelines are valid: the generator needs fixing", valid, n)
	}
	t.Logf("%d of %d generated pipelines valid, all compiled and validated", valid, n)
}

// FuzzCompile: the same property over ir's own fuzz corpus and the
// examples, mutated.
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("../../ir/testdata/fuzz/FuzzParse/*")
	for _, file := range seeds {
		if data, err := os.ReadFile(file); err == nil {
			if b, ok := corpusBytes(data); ok {
				f.Add(b)
			}
		}
	}
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, file := range examples {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, c := range plantest.Cases(f) {
		f.Add(c.Section("pipeline.yaml"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ir.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		checkCompiles(t, "fuzz input", p, data)
	})
}

func checkCompiles(t *testing.T, what string, p *ir.Pipeline, src []byte) {
	t.Helper()
	params, err := p.ResolveParams(nil)
	if err != nil {
		return // a parameter without a default: nothing to compile with
	}
	plugin := testOptions
	plugin.CachePlugin = true
	for _, opts := range []argo.Options{testOptions, plugin} {
		wf, err := argo.Compile(p, params, opts)
		var field *argo.FieldError
		if errors.As(err, &field) {
			return // a pod field holding {{ }}: refused by design, with its place
		}
		if err != nil {
			t.Fatalf("%s: Compile (cache plugin %v): %v\n%s", what, opts.CachePlugin, err, src)
		}
		argoValidate(t, wf)
	}
}

// corpusBytes reads a file of Go's fuzz corpus format holding one []byte.
func corpusBytes(data []byte) ([]byte, bool) {
	lines := strings.SplitN(string(data), "\n", 2)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go test fuzz v1") {
		return nil, false
	}
	body := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

// gen makes random pipelines.
type gen struct {
	r      *rand.Rand
	n      int
	params []ir.Param
	steps  []*genStep // every command step so far, in file order
}

type genStep struct {
	step  *ir.Step
	loops int        // forEach levels around it, itself included
	path  []*ir.Step // enclosing groups, outermost first
	exit  bool
}

var genTexts = []string{"plain", "{{workflow.name}}", `{{=sprig.env("HOME")}}`, "$(params.x)", "a\nb", `x" || "1" == "1`, "ünï", ""}

func (g *gen) pick(n int) int { return g.r.IntN(n) }

func (g *gen) value() ir.Value {
	switch g.pick(6) {
	case 0:
		return ir.NewValue(g.pick(1000))
	case 1:
		return ir.NewValue(float64(g.pick(100)) / 8)
	case 2:
		return ir.NewValue(g.pick(2) == 0)
	case 3:
		return ir.NewValue(map[string]any{"k": genTexts[g.pick(len(genTexts))]})
	}
	return ir.NewValue(genTexts[g.pick(len(genTexts))])
}

func (g *gen) list() ir.Value {
	var l []any
	for range g.pick(4) {
		l = append(l, g.value().Interface())
	}
	return ir.NewValue(l)
}

func (g *gen) pipeline() *ir.Pipeline {
	p := &ir.Pipeline{APIVersion: ir.APIVersion, Kind: ir.Kind, Metadata: ir.Metadata{Name: "gen"}}
	if g.pick(2) == 0 {
		p.Metadata.Labels = map[string]string{"team": "ml"}
	}
	for i := range g.pick(4) {
		prm := ir.Param{Name: fmt.Sprintf("p%d", i)}
		var v ir.Value
		if g.pick(3) == 0 {
			prm.Type, v = ir.TypeList, g.list()
		} else {
			v = g.value()
			prm.Type = v.Type()
		}
		prm.Default = &v
		g.params = append(g.params, prm)
	}
	p.Spec.Params = g.params
	p.Spec.Defaults = &ir.Step{Image: "busybox:1.36"}
	p.Spec.Steps = g.scope(nil, 0, 1+g.pick(6), false)
	if g.pick(3) == 0 {
		p.Spec.OnExit = g.scope(nil, 0, 1+g.pick(2), true)
	}
	return p
}

func (g *gen) name() string {
	g.n++
	if g.pick(10) == 0 {
		return fmt.Sprintf("%ds", g.n) // a name that starts with a digit
	}
	return fmt.Sprintf("s%d", g.n)
}

func (g *gen) scope(path []*ir.Step, loops, n int, exit bool) []ir.Step {
	var out []ir.Step
	for range n {
		s := ir.Step{Name: g.name()}
		if g.pick(4) == 0 {
			s.ForEach = g.forEach(loops)
		}
		l := loops
		if s.ForEach != nil {
			l++
		}
		if g.pick(5) == 0 {
			s.When = g.when(l > 0, exit)
		}
		if len(out) > 0 && g.pick(3) == 0 {
			s.After = []string{out[g.pick(len(out))].Name}
		}
		if len(path) < 2 && g.pick(6) == 0 {
			inner := append(append([]*ir.Step(nil), path...), &s)
			s.Group = &ir.Group{Steps: g.scope(inner, l, 1+g.pick(3), exit)}
		} else {
			g.command(&s, path, l, exit)
		}
		out = append(out, s)
	}
	return out
}

func (g *gen) forEach(loops int) *ir.ForEach {
	fe := &ir.ForEach{}
	if g.pick(2) == 0 {
		fe.Parallelism = g.pick(4)
	}
	var items ir.Value
	switch k := g.pick(4); {
	case k == 0 && loops > 0:
		items = ir.NewValue("${{ item }}")
	case k == 1 && g.listParam() != "":
		items = ir.NewValue("${{ params." + g.listParam() + " }}")
	default:
		items = g.list()
	}
	fe.Items = &items
	return fe
}

func (g *gen) listParam() string {
	for _, p := range g.params {
		if p.Type == ir.TypeList {
			return p.Name
		}
	}
	return ""
}

// ref returns a placeholder for a value visible to a step.
func (g *gen) ref(inLoop, exit bool) string {
	switch g.pick(4) {
	case 0:
		if len(g.params) > 0 {
			return "${{ params." + g.params[g.pick(len(g.params))].Name + " }}"
		}
	case 1:
		if inLoop {
			return "${{ item }}"
		}
	case 2:
		var cands []*genStep
		for _, s := range g.steps {
			if s.exit == exit && s.step.Outputs != nil && len(s.step.Outputs.Params) > 0 {
				cands = append(cands, s)
			}
		}
		if len(cands) > 0 {
			s := cands[g.pick(len(cands))]
			return "${{ steps." + s.step.Name + ".outputs.params." + s.step.Outputs.Params[0].Name + " }}"
		}
	}
	if exit {
		return "${{ pipeline.status }}"
	}
	return "${{ pipeline.name }}"
}

func (g *gen) when(inLoop, exit bool) string {
	ops := []string{"==", "!=", "<", ">="}
	w := g.ref(inLoop, exit) + " " + ops[g.pick(len(ops))] + ` "x"`
	if g.pick(2) == 0 {
		w = "(" + w + ") || !(" + g.ref(inLoop, exit) + ` == 3)`
	}
	return w
}

func (g *gen) command(s *ir.Step, path []*ir.Step, loops int, exit bool) {
	s.Command = []string{"sh", "-c", "echo " + g.ref(loops > 0, exit) + " " + genTexts[g.pick(len(genTexts))]}
	if g.pick(2) == 0 {
		s.Args = []string{g.ref(loops > 0, exit)}
	}
	if g.pick(3) == 0 {
		s.Outputs = &ir.Outputs{Params: []ir.OutputParam{{Name: "out", Type: ir.TypeString}}}
		s.Command[2] += " > ${{ outputs.params.out }}"
		if g.pick(2) == 0 {
			s.Outputs.Artifacts = []ir.OutputArtifact{{Name: "art"}}
		}
	}
	if g.pick(4) == 0 {
		s.Env = []ir.EnvVar{{Name: "TOKEN", Secret: &ir.SecretRef{Name: "creds", Key: "token"}}, {Name: "V", Value: g.ref(loops > 0, exit)}}
	}
	if g.pick(4) == 0 {
		s.Resources = &ir.Resources{Requests: map[string]string{"cpu": "500m"}, GPUs: &ir.GPUs{Count: 1}}
		s.NodeSelector = map[string]string{"pool": "gpu"}
		s.Tolerations = []ir.Toleration{{Key: "gpu", Operator: "Exists", Effect: "NoSchedule"}}
	}
	if g.pick(4) == 0 {
		f := 1.5
		s.Retry = &ir.Retry{Limit: 2, Backoff: &ir.Backoff{Duration: &ir.Duration{Duration: 1e10}, Factor: &f}}
		s.Timeout = &ir.Duration{Duration: 9e10}
	}
	if g.pick(5) == 0 {
		s.Volumes = []ir.Volume{{Name: "scratch", MountPath: "/scratch", EmptyDir: &ir.EmptyDirVolume{}}}
	}
	if g.pick(5) == 0 {
		off := false
		s.Cache = &ir.Cache{Enabled: &off}
	}
	g.steps = append(g.steps, &genStep{step: s, loops: loops, path: path, exit: exit})
}
