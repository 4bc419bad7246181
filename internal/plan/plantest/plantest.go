// Package plantest holds what the engine adapters' tests share: the texts
// that an engine, a shell or the launcher would read as their own, which
// must reach a step byte for byte on every backend.
package plantest

import (
	"strings"

	"github.com/sluice-dev/sluice/ir"
)

// Hostile are texts that Argo, Tekton or a shell would read as their own:
// template syntax of both engines, shell expansion, quotes, line breaks,
// control bytes, invalid UTF-8, Unicode line separators, and the empty
// text.
var Hostile = []string{
	"{{workflow.name}}",
	`{{=sprig.env("HOME")}}`,
	"{{inputs.parameters.spec}}",
	"$(params.x)",
	"$(context.pipelineRun.name)",
	"$(context.taskRun.name) $(results.x.path) $(workspaces.w.path) $(credentials.path)",
	"$(tasks.status) $(steps.run.exitCode.path)",
	"${HOME} $HOME `id`",
	`x" || "1" == "1`,
	"it's \"quoted\" \\ back\\slash",
	"line one\nline two\n",
	"tab\there\r\n",
	"bell\a and nul\x00 and del\x7f",
	"\xff\xfe not UTF-8",
	"}} {{ {{{ }}} $( $$( $(( 1 + 2 ))",
	"ünïcødé \u2028 \U0001F600",
	"JChwYXJhbXMueCk=", // base64 of $(params.x): text, not an encoding
	"cas://sha256/0000000000000000000000000000000000000000000000000000000000000000?kind=value&size=1",
	"",
}

// FilterPipeline loops over another step's output (produce's list l)
// with a condition on each item (item.keep == "yes"): the pipeline of the
// adapters' filtered-loop tests.
const FilterPipeline = `apiVersion: sluice.dev/v1alpha1
kind: Pipeline
metadata: {name: filter}
spec:
  defaults: {image: busybox}
  steps:
    - name: produce
      command: ["true"]
      outputs: {params: [{name: l, type: list}]}
    - name: each
      forEach: {items: '${{ steps.produce.outputs.params.l }}'}
      when: '"${{ item.keep }}" == "yes"'
      command: [echo, '${{ item }}']
`

// FilterItems are FilterPipeline's list (one element per Hostile text,
// every other one kept), as the text produce writes, and the texts of
// the items that must run.
func FilterItems() (list string, kept []string) {
	elems := make([]string, len(Hostile))
	for i, h := range Hostile {
		keep := "no"
		if i%2 == 0 {
			keep = "yes"
		}
		elems[i] = ir.NewValue(map[string]any{"keep": keep, "text": h}).String()
		if keep == "yes" {
			kept = append(kept, elems[i])
		}
	}
	return "[" + strings.Join(elems, ",") + "]", kept
}
