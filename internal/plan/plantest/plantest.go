// Package plantest holds what the engine adapters' tests share: the texts
// that an engine, a shell or the launcher would read as their own, which
// must reach a step byte for byte on every backend.
package plantest

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
