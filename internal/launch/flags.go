package launch

import (
	"errors"
	"flag"
	"strings"
)

// ListFlag is a repeatable flag.
type ListFlag []string

func (l *ListFlag) String() string     { return strings.Join(*l, " ") }
func (l *ListFlag) Set(s string) error { *l = append(*l, s); return nil }

// ValueFlags are the launcher's flags that pass runtime values, shared by
// `sluice-exec run` and `sluice-exec when` (and by the adapters' tests,
// which read the command lines they generate as the launcher does):
// --in KEY=VALUE, --in-b64 KEY=BASE64, --in-list KEY=TYPE:COUNT whose
// elements follow "--" (with --in-list-index KEY, followed by their
// iterations' indexes), --in-json-list KEY=TYPE:DEPTH:JSON; and, for one
// iteration of a loop, --index N or --in-item N:BASE64.
type ValueFlags struct {
	In, InB64, InList, InListIndex, InJSONList ListFlag
	// Index and Item say which iteration of its loop an execution is:
	// the item's index, and with Item the item too, as a filter writes
	// it (KeptFile).
	Index, Item string
}

// Register adds the flags to fs.
func (v *ValueFlags) Register(fs *flag.FlagSet) {
	fs.Var(&v.In, "in", "a runtime value for a placeholder, `KEY=VALUE` (repeatable)")
	fs.Var(&v.InB64, "in-b64", "the same with the value in standard base64, `KEY=B64` (repeatable)")
	fs.Var(&v.InList, "in-list", "a loop's list output from `KEY=TYPE:COUNT` elements given after -- (repeatable)")
	fs.Var(&v.InListIndex, "in-list-index", "the --in-list `KEY`'s elements are followed by their iterations' indexes: put them in that order (repeatable)")
	fs.Var(&v.InJSONList, "in-json-list", "a loop's list output aggregated by the engine, `KEY=TYPE:DEPTH:JSON` (repeatable)")
	fs.StringVar(&v.Index, "index", "", "this execution is the iteration of the loop's item `N` (run: the output "+OutIndex+")")
	fs.StringVar(&v.Item, "in-item", "", "the iteration's item, as a filter writes it: `N:B64`, its index and its text in standard base64")
}

// Bindings parses the values; rest are the arguments after the flags
// (fs.Args()), which only --in-list takes.
func (v *ValueFlags) Bindings(rest []string) (*Bindings, error) {
	if len(rest) > 0 && len(v.InList) == 0 {
		return nil, errors.New("unexpected argument " + quote(rest[0]))
	}
	b, err := ParseBindings(v.In)
	if err != nil {
		return nil, err
	}
	return b, errors.Join(b.AddB64(v.InB64), b.AddLists(v.InList, v.InListIndex, rest), b.AddJSONLists(v.InJSONList),
		b.addIteration(v.Index, v.Item))
}

func quote(s string) string { return `"` + abbrev(s) + `"` }
