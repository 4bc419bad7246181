package ir_test

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/ir"
)

// TestEncodeCharacters round-trips strings holding the characters where
// JSON and YAML disagree.
func TestEncodeCharacters(t *testing.T) {
	for _, esc := range []string{
		`\x7f`, `\x80`, `\x85`, `\x9f`, `\xa0`, `\u2028`, `\u2029`, `\ufeff`, `\ufffe`, `\uffff`,
		`\x00`, `\x1b`, `\t`, `\r`, `\r\n`, `\n`, `\\`, `\"`, `\U0001F600`, `<&>`, ` lead`, `trail `, `# x`, `$${{ x }}`,
	} {
		t.Run(esc, func(t *testing.T) {
			checkRoundTrip(t, []byte(head+`  params: [{name: p, default: "a`+esc+`b"}]
  steps: [{name: a, image: "i`+esc+`", command: ["a`+esc+`b"], env: [{name: E, value: "`+esc+`"}]}]
`))
		})
	}
	// What an escape wrote is what Parse reads back.
	p := mustParse(t, head+"  steps: [{name: a, image: i, command: [\"a\\x85b\\x7f\"]}]\n")
	b, err := ir.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"a\u0085b\u007f"`) {
		t.Errorf("Encode = %s", b)
	}
	if got := mustParse(t, string(b)).Spec.Steps[0].Command[0]; got != "a\u0085b\u007f" {
		t.Errorf("command read back as %q", got)
	}
}
