package argo

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/sluice-dev/sluice/internal/plan"
	"github.com/sluice-dev/sluice/ir"
)

// Argo substitutes {{…}} in a template's fields several times over (a DAG
// task's JSON when its dependencies finish, again when a loop expands, and
// twice more when the template's inputs are bound, the second time over
// text the first put in), with no escape (upstream issues #8253, #12534).
// Each pass writes a value into JSON through strconv.Quote. So a text
// survives Argo only if it holds no "{{" and Go's quoting of it is JSON.
//
// What the user wrote never meets this: commands, args, env values and
// the rest of a step travel base64-encoded in the launcher's spec. What
// does meet it are the values known only at run time, passed to the
// launcher as --in KEY=VALUE: parameter values (workflow arguments, which
// `argo submit -p` may change), loop items, and other steps' outputs (the
// launcher writes a value that would not survive as a value ref instead).
// A parameter value or an item that is not safe travels base64-encoded,
// as --in-b64 KEY=B64.

// safe reports whether s passes through Argo's substitution unchanged.
func safe(s string) bool {
	if strings.Contains(s, "{{") || !utf8.ValidString(s) {
		return false
	}
	var back string
	return json.Unmarshal([]byte(strconv.Quote(s)), &back) == nil && back == s
}

// literal reports whether a runtime value can go to the launcher as it
// is (--in): Argo passes it unchanged, and the launcher takes it for the
// text it is, not a value ref (plan.NeedsB64).
func literal(s string) bool { return safe(s) && !plan.NeedsB64(s) }

// itemTexts returns the text ${{ item }} expands to for each element of
// a list, and whether all of them can go as they are (literal).
func itemTexts(l []ir.Value) ([]string, bool) {
	texts := make([]string, len(l))
	ok := true
	for i, e := range l {
		texts[i] = e.String()
		ok = ok && literal(texts[i])
	}
	return texts, ok
}

// argoRendersItems reports whether Argo, fanning out over the JSON list v
// with withParam, gives {{item}} the text that ir gives ${{ item }} for
// every element: Argo renders a string element as the string and a
// number as written, but an object through encoding/json (HTML escapes),
// which is not always ir's text.
func argoRendersItems(v ir.Value) bool {
	l, ok := v.List()
	if !ok {
		return false
	}
	for _, e := range l {
		raw, err := e.MarshalJSON()
		if err != nil {
			return false
		}
		it, err := wfv1.ParseItem(string(raw))
		if err != nil || argoItemText(it) != e.String() || !literal(e.String()) {
			return false
		}
	}
	return true
}

// argoItemText is the text Argo substitutes for {{item}} (processItem in
// workflow/controller/operator.go).
func argoItemText(it wfv1.Item) string {
	switch it.GetType() {
	case wfv1.String:
		return it.GetStrVal()
	case wfv1.Map:
		b, err := json.Marshal(it.GetMapVal())
		if err != nil {
			return ""
		}
		return string(b)
	case wfv1.List:
		b, err := json.Marshal(it.GetListVal())
		if err != nil {
			return ""
		}
		return string(b)
	}
	return it.String()
}
