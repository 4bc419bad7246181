// Package plan is what the engine adapters (Argo, Tekton) share about
// running one step of a pipeline under the in-pod launcher, so that each
// rule lives once:
//
//   - Needs: which placeholders a command step's launcher must be given
//     at run time (--in), and which it resolves itself;
//   - Consts and Fold: what is known when a pipeline is compiled
//     (parameters, the pipeline's name, an item of a literal loop) and the
//     `when` conditions and forEach items that this decides;
//   - Run and When: the launcher's command line (cmd/sluice-exec), with
//     each value passed either as it is or base64-encoded when the engine
//     would rewrite it (Literal).
//
// plan knows no engine: an adapter says which text its engine substitutes
// (Tekton's `$(`, Argo's `{{`) and how it names runtime values.
package plan
