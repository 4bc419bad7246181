package ir_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/ir"
)

// values resolves placeholders from a map keyed by their expression.
func values(m map[string]string) func(ir.Ref) (string, error) {
	return func(r ir.Ref) (string, error) {
		v, ok := m[r.String()]
		if !ok {
			return "", fmt.Errorf("no value for %s", r)
		}
		return v, nil
	}
}

func TestWhenEval(t *testing.T) {
	const injection = `x" || "1" == "1`
	tests := []struct {
		cond string
		vals map[string]string
		want bool
	}{
		// Numbers compare as numbers, whatever wrote them.
		{`"10" > "9"`, nil, true},
		{`10 > 9`, nil, true},
		{`${{ params.a }} > ${{ params.b }}`, map[string]string{"params.a": "10", "params.b": "9"}, true},
		{`"${{ params.a }}" > 9`, map[string]string{"params.a": "10"}, true},
		{`${{ steps.stats.outputs.params.count }} > 100`, map[string]string{"steps.stats.outputs.params.count": "150\n"}, true},
		{`${{ steps.stats.outputs.params.count }} > 100`, map[string]string{"steps.stats.outputs.params.count": "99"}, false},
		{`${{ steps.stats.outputs.params.count }} > 100`, map[string]string{"steps.stats.outputs.params.count": "1e3"}, true},
		{`1.5 == 1.50`, nil, true},
		{`"10" == "10.0"`, nil, true},
		{`-1 < 0`, nil, true},
		{`2 >= 2`, nil, true},
		{`2 <= 1`, nil, false},
		{`2 != 2.0`, nil, false},
		// Everything else compares as strings.
		{`"abc" < "abd"`, nil, true},
		{`"abc" > "abd"`, nil, false},
		{`"x10" > "9"`, nil, true},
		{`10 < "abc"`, nil, true},
		{`'single' == "single"`, nil, true},
		{`"a\"b" == 'a"b'`, nil, true},
		{`"" == ""`, nil, true},
		// NaN and Inf are text: "NaN" is not equal to every number.
		{`${{ params.a }} == 5`, map[string]string{"params.a": "NaN"}, false},
		{`${{ params.a }} != 5`, map[string]string{"params.a": "NaN"}, true},
		{`${{ params.a }} == ${{ params.b }}`, map[string]string{"params.a": "Inf", "params.b": "+Inf"}, false},
		// Placeholders inside string literals are interpolated.
		{`"${{ params.mode }}-v2" == "full-v2"`, map[string]string{"params.mode": "full"}, true},
		{`"${{ params.mode }}-v2" == "full-v2"`, map[string]string{"params.mode": "fast"}, false},
		{`"$${{ params.mode }}" == '$${{ params.mode }}'`, nil, true},
		// Logic, negation and precedence.
		{`true && false`, nil, false},
		{`true || false`, nil, true},
		{`!true`, nil, false},
		{`!!true`, nil, true},
		{`!(1 == 2)`, nil, true},
		{`true || false && false`, nil, true},
		{`(true || false) && false`, nil, false},
		{`false && true || true`, nil, true},
		{`false && (true || true)`, nil, false},
		{`!false && false`, nil, false},
		{`!(false && false)`, nil, true},
		{`1 < 2 && 3 < 4 || 5 < 0`, nil, true},
		{`${{ params.flag }}`, map[string]string{"params.flag": "true"}, true},
		{`${{ params.flag }} && ${{ params.flag }}`, map[string]string{"params.flag": "false"}, false},
		// Short-circuit: the right side is not evaluated.
		{`false && ${{ params.missing }}`, nil, false},
		{`true || ${{ params.missing }}`, nil, true},
		// A value is an operand, never expression text.
		{`${{ params.x }} == "y"`, map[string]string{"params.x": injection}, false},
		{`"${{ params.x }}" == "y"`, map[string]string{"params.x": injection}, false},
		{`${{ params.x }} == "x\" || \"1\" == \"1"`, map[string]string{"params.x": injection}, true},
		{`${{ params.x }} != "y"`, map[string]string{"params.x": `") || true || ("`}, true},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			w, err := ir.ParseWhen(tc.cond)
			if err != nil {
				t.Fatalf("ParseWhen(%s): %v", tc.cond, err)
			}
			got, err := w.Eval(values(tc.vals))
			if err != nil {
				t.Fatalf("Eval(%s) with %v: %v", tc.cond, tc.vals, err)
			}
			if got != tc.want {
				t.Errorf("Eval(%s) with %v = %v, want %v", tc.cond, tc.vals, got, tc.want)
			}
		})
	}
}

func TestWhenParseErrors(t *testing.T) {
	tests := []struct{ cond, want string }{
		{``, `when: expected an operand at offset 0, got end of condition`},
		{`(`, `when: expected an operand at offset 1, got end of condition`},
		{`(true`, `when: expected ")" at offset 5, got end of condition`},
		{`true)`, `when: unexpected ")" at offset 4`},
		{`()`, `when: expected an operand at offset 1, got ")"`},
		{`1 ==`, `when: expected an operand at offset 4, got end of condition`},
		{`== 1`, `when: expected an operand at offset 0, got "=="`},
		{`1 = 1`, `when: unexpected '=' at offset 2`},
		{`1 === 1`, `when: unexpected '=' at offset 4`},
		{`1 2`, `when: unexpected operand "2" at offset 2`},
		{`1 == 1 == true`, `when: unexpected "==" at offset 7`},
		{`true &&`, `when: expected an operand at offset 7, got end of condition`},
		{`&& true`, `when: expected an operand at offset 0, got "&&"`},
		{`true & false`, `when: unexpected '&' at offset 5`},
		{`mode == "x"`, `when: unexpected "mode" at offset 0: quote strings ("...") and write placeholders as ${{ ... }}`},
		{`NaN == 1`, `when: unexpected "NaN" at offset 0: quote strings ("...") and write placeholders as ${{ ... }}`},
		{`"open`, `when: unterminated string at offset 0`},
		{`'open\'`, `when: unterminated string at offset 0`},
		{`${{ params.x`, `when: unterminated placeholder at offset 0`},
		{`${{ nope }} == 1`, `when: placeholder ${{ nope }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*`},
		{`"${{ nope }}" == 1`, `when: string at offset 0: placeholder ${{ nope }}: unknown; expected params.*, inputs.*, outputs.*, steps.*, item or pipeline.*`},
		{`$${{ params.x }} == 1`, `when: unexpected "$" at offset 0: quote strings ("...") and write placeholders as ${{ ... }}`},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			_, err := ir.ParseWhen(tc.cond)
			if err == nil {
				t.Fatalf("ParseWhen(%s): no error, want %s", tc.cond, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("ParseWhen(%s) error:\n got %s\nwant %s", tc.cond, err, tc.want)
			}
		})
	}
}

func TestWhenEvalErrors(t *testing.T) {
	errNo := errors.New("no value yet")
	tests := []struct {
		cond string
		want string
	}{
		{`"a"`, `when: "a" is not true or false`},
		{`1 && true`, `when: "1" is not true or false`},
		{`true && "yes"`, `when: "yes" is not true or false`},
		{`!${{ params.x }}`, `when: "maybe" is not true or false`},
		{`${{ params.missing }} == 1`, `no value yet`},
		{`"${{ params.missing }}" == 1`, `no value yet`},
		{`1 == ${{ params.missing }}`, `no value yet`},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			w, err := ir.ParseWhen(tc.cond)
			if err != nil {
				t.Fatalf("ParseWhen(%s): %v", tc.cond, err)
			}
			_, err = w.Eval(func(r ir.Ref) (string, error) {
				if r.Name == "x" {
					return "maybe", nil
				}
				return "", errNo
			})
			if err == nil || err.Error() != tc.want {
				t.Errorf("Eval(%s) error = %v, want %s", tc.cond, err, tc.want)
			}
		})
	}
}

func TestWhenRefs(t *testing.T) {
	w, err := ir.ParseWhen(`"${{ params.a }}-${{ item.k }}" == ${{ steps.s.outputs.params.o }} || !${{ inputs.params.b }}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []ir.Ref{
		{Kind: ir.RefParam, Name: "a"},
		{Kind: ir.RefItem, Name: "k"},
		{Kind: ir.RefStepParam, Step: "s", Name: "o"},
		{Kind: ir.RefInputParam, Name: "b"},
	}
	if diff := cmp.Diff(want, w.Refs()); diff != "" {
		t.Errorf("Refs (-want +got):\n%s", diff)
	}
}
