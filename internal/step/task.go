package step

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/ir"
)

// Part is a run of literal text or one path placeholder.
type Part struct {
	Lit string `json:"lit,omitempty"`
	Ref string `json:"ref,omitempty"` // e.g. "outputs.artifacts.raw"
}

// Text is a command-line argument or env value whose value placeholders are
// already replaced. It is kept structured rather than re-rendered as
// `${{ … }}` text so that no value, whatever it contains, can turn into a
// placeholder.
type Text []Part

// Resolve replaces the placeholders that resolve knows and keeps the rest.
func Resolve(t ir.Template, resolve func(ir.Ref) (string, bool, error)) (Text, error) {
	var out Text
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Ref == "" {
			out[n-1].Lit += s
			return
		}
		out = append(out, Part{Lit: s})
	}
	for _, seg := range t {
		if seg.Ref == nil {
			lit(seg.Lit)
			continue
		}
		v, ok, err := resolve(*seg.Ref)
		if err != nil {
			return nil, err
		}
		if ok {
			lit(v)
			continue
		}
		out = append(out, Part{Ref: seg.Ref.String()})
	}
	return out, nil
}

// Literal makes a Text of plain text.
func Literal(s string) Text {
	if s == "" {
		return nil
	}
	return Text{{Lit: s}}
}

// Expand renders the text, giving each placeholder the path paths returns.
func (t Text) Expand(paths func(ref string) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t {
		if p.Ref == "" {
			b.WriteString(p.Lit)
			continue
		}
		v, err := paths(p.Ref)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// key renders the text for the cache key: literals as JSON strings and
// placeholders as ${{…}}, so the two can never be confused.
func (t Text) key() string {
	var b strings.Builder
	for _, p := range t {
		if p.Ref != "" {
			b.WriteString("${{" + p.Ref + "}}")
			continue
		}
		q, _ := json.Marshal(p.Lit)
		b.Write(q)
	}
	return b.String()
}

// Env is one environment variable of a task.
type Env struct {
	Name   string        `json:"name"`
	Value  Text          `json:"value,omitempty"`
	Secret *ir.SecretRef `json:"secret,omitempty"`
}

// Task is one execution of one step, resolved: what a backend hands to
// Execute. It is also the launcher's input, so it encodes as JSON.
type Task struct {
	Pipeline   string `json:"pipeline"`
	Run        string `json:"run"`
	Step       string `json:"step"`         // the step's name
	ID         string `json:"id,omitempty"` // display name: "train[2]" for a forEach iteration
	Image      string `json:"image"`
	Command    []Text `json:"command"`
	Args       []Text `json:"args,omitempty"`
	Env        []Env  `json:"env,omitempty"`
	WorkingDir string `json:"workingDir,omitempty"`
	// Params are the step's input parameter values.
	Params map[string]string `json:"params,omitempty"`
	// Artifacts are the input artifacts, by the placeholder that names
	// their path ("inputs.artifacts.data", "steps.ingest.outputs.artifacts.raw").
	Artifacts map[string]cache.ArtifactRef `json:"artifacts,omitempty"`
	Outputs   ir.Outputs                   `json:"outputs"`
	Cache     bool                         `json:"cache"`
	Salt      string                       `json:"salt,omitempty"`
	TTL       time.Duration                `json:"ttl,omitempty"`
	Timeout   time.Duration                `json:"timeout,omitempty"`
}

// Name is the task's display name.
func (t *Task) Name() string {
	if t.ID != "" {
		return t.ID
	}
	return t.Step
}

// Components are what the task's cache key is made of.
func (t *Task) Components() cache.Components {
	c := cache.Components{
		Image:      t.Image,
		WorkingDir: t.WorkingDir,
		Params:     t.Params,
		Salt:       t.Salt,
	}
	for _, x := range t.Command {
		c.Command = append(c.Command, x.key())
	}
	for _, x := range t.Args {
		c.Args = append(c.Args, x.key())
	}
	for _, e := range t.Env {
		ce := cache.EnvVar{Name: e.Name, Value: e.Value.key()}
		if e.Secret != nil {
			ce.Value = ""
			ce.Secret = e.Secret.Name + "/" + e.Secret.Key + "@" + e.Secret.Version
		}
		c.Env = append(c.Env, ce)
	}
	for _, p := range t.Outputs.Params {
		c.Outputs.Params = append(c.Outputs.Params, p.Name+":"+string(p.Typ()))
	}
	for _, a := range t.Outputs.Artifacts {
		c.Outputs.Artifacts = append(c.Outputs.Artifacts, a.Name)
	}
	sort.Strings(c.Outputs.Params)
	sort.Strings(c.Outputs.Artifacts)
	if len(t.Artifacts) > 0 {
		c.Artifacts = make(map[string]cache.Digest, len(t.Artifacts))
		for name, ref := range t.Artifacts {
			c.Artifacts[name] = ref.Digest
		}
	}
	return c
}

// Key is the task's cache key.
func (t *Task) Key() cache.Key { return cache.ComputeKey(t.Components()) }

// Validate checks what Execute relies on, for tasks that arrive from
// outside (the launcher reads them from a file).
func (t *Task) Validate() error {
	if t.Step == "" || len(t.Command) == 0 {
		return fmt.Errorf("task: step and command are required")
	}
	return nil
}
