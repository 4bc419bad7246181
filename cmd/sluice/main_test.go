package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// sluice runs one command line in-process, as main would, and returns its
// exit code and what it wrote to stdout and stderr.
func sluice(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		cmd  string // command path in the usage hint
	}{
		{"unknown flag", []string{"validate", "--bogus", "testdata/valid.yaml"}, "sluice validate"},
		{"unknown shorthand", []string{"graph", "-x", "testdata/valid.yaml"}, "sluice graph"},
		{"missing FILE", []string{"validate"}, "sluice validate"},
		{"graph without FILE", []string{"graph"}, "sluice graph"},
		{"graph with two files", []string{"graph", "testdata/valid.yaml", "testdata/valid.yaml"}, "sluice graph"},
		{"bad -o for validate", []string{"validate", "-o", "xml", "testdata/valid.yaml"}, "sluice validate"},
		{"bad -o for graph", []string{"graph", "-o", "svg", "testdata/valid.yaml"}, "sluice graph"},
		{"bad -o for version", []string{"version", "-o", "dot"}, "sluice version"},
		{"unknown command", []string{"valdate", "testdata/valid.yaml"}, "sluice"},
		{"argument to schema", []string{"schema", "extra"}, "sluice schema"},
		{"unknown shell", []string{"completion", "tcsh"}, "sluice completion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := sluice(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if want := "Run '" + tt.cmd + " --help' for usage."; len(lines) < 2 || !strings.HasPrefix(lines[0], "Error: ") || lines[len(lines)-1] != want {
				t.Errorf("stderr = %q, want an Error: line and %q", stderr, want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"validate", "-h"}, {"help", "graph"}, {"completion"}} {
		code, stdout, stderr := sluice(t, args...)
		if code != exitOK || stdout == "" || stderr != "" {
			t.Errorf("sluice %v: exit code %d, stdout %d bytes, stderr %q; want 0, help on stdout, nothing on stderr",
				args, code, len(stdout), stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, stderr := sluice(t, "completion", shell)
		if code != exitOK || !strings.Contains(stdout, "sluice") || stderr != "" {
			t.Errorf("completion %s: exit code %d, stdout %d bytes, stderr %q", shell, code, len(stdout), stderr)
		}
	}

	// The values of -o complete, and FILE arguments complete to pipeline files.
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"graph", "testdata/valid.yaml", "-o", ""}, []string{"dot", "mermaid", ":4"}},
		{[]string{"validate", "-o", ""}, []string{"text", "json", "yaml", ":4"}},
		{[]string{"validate", ""}, []string{"yaml", "yml", "json", ":8"}},
		{[]string{"graph", "testdata/valid.yaml", ""}, []string{":4"}},
	}
	for _, tt := range tests {
		code, stdout, _ := sluice(t, append([]string{"__complete"}, tt.args...)...)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if !strings.HasPrefix(l, "Completion ended") {
				got = append(got, l)
			}
		}
		if code != exitOK || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("__complete %q: exit code %d, got %q, want %q", tt.args, code, got, tt.want)
		}
	}
}
