package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	kubeyaml "sigs.k8s.io/yaml"
)

// Output formats shared by subcommands that print a result.
const (
	formatText = "text"
	formatJSON = "json"
	formatYAML = "yaml"
)

// structured are the machine-readable -o formats.
var structured = map[string]func(io.Writer, any) error{
	formatJSON: writeJSON,
	formatYAML: writeYAML,
}

// addOutputFlag adds -o/--output, taking one of formats (the first is the
// default), with shell completion of the values. Any other value is a
// usage error when flags are parsed.
func addOutputFlag(cmd *cobra.Command, p *string, formats ...string) {
	*p = formats[0]
	cmd.Flags().VarP(&enumValue{p: p, allowed: formats}, "output", "o",
		"output format: "+strings.Join(formats, "|"))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// enumValue is a string flag restricted to a few values.
type enumValue struct {
	p       *string
	allowed []string
}

func (e *enumValue) String() string { return *e.p }
func (e *enumValue) Type() string   { return "string" }

func (e *enumValue) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(e.allowed, ", "))
	}
	*e.p = s
	return nil
}

// writeJSON writes v as indented JSON, leaving <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as YAML; types give their keys with yaml tags.
func writeYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// writeKubeYAML writes a Kubernetes object as YAML through its JSON form,
// so field names and omitempty follow the API types' json tags.
func writeKubeYAML(w io.Writer, obj any) error {
	b, err := kubeyaml.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
