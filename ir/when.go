package ir

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// When is a parsed `when` condition. Placeholders are operands: their values
// are never parsed as expression text.
type When struct {
	root expr
	refs []Ref
}

// ParseWhen parses a condition: comparisons (== != < <= > >=), && || !,
// parentheses, string, number and boolean literals and placeholders.
func ParseWhen(s string) (*When, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &whenParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("when: unexpected %s at offset %d", t, t.off)
	}
	w := &When{root: e}
	for _, t := range toks {
		for _, seg := range t.tmpl {
			if seg.Ref != nil {
				w.refs = append(w.refs, *seg.Ref)
			}
		}
	}
	return w, nil
}

// Refs lists the condition's placeholders in order.
func (w *When) Refs() []Ref { return w.refs }

// Eval decides the condition, taking placeholder values from resolve.
func (w *When) Eval(resolve func(Ref) (string, error)) (bool, error) {
	v, err := w.root.eval(resolve)
	if err != nil {
		return false, err
	}
	return v.bool()
}

type tokKind int

const (
	tEOF tokKind = iota
	tOperand
	tOp
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	op   string   // for tOp
	tmpl Template // for tOperand: a literal or placeholder
	off  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tOp:
		return strconv.Quote(t.op)
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	}
	return "operand " + strconv.Quote(t.tmpl.String())
}

var ops = []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!"}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tLParen, off: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tRParen, off: i})
			i++
		case strings.HasPrefix(s[i:], "${{"):
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return nil, fmt.Errorf("when: unterminated placeholder at offset %d", i)
			}
			r, err := ParseRef(s[i+3 : i+end])
			if err != nil {
				return nil, fmt.Errorf("when: %w", err)
			}
			toks = append(toks, token{kind: tOperand, tmpl: Template{{Ref: &r}}, off: i})
			i += end + 2
		case c == '"' || c == '\'':
			j, text, err := quoted(s, i)
			if err != nil {
				return nil, err
			}
			t, err := ParseTemplate(text)
			if err != nil {
				return nil, fmt.Errorf("when: string at offset %d: %w", i, err)
			}
			toks = append(toks, token{kind: tOperand, tmpl: t, off: i})
			i = j
		default:
			if op := opAt(s[i:]); op != "" {
				toks = append(toks, token{kind: tOp, op: op, off: i})
				i += len(op)
				continue
			}
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()!=<>&|\"'", s[j]) < 0 && !strings.HasPrefix(s[j:], "${{") {
				j++
			}
			word := s[i:j]
			if word == "" {
				return nil, fmt.Errorf("when: unexpected %q at offset %d", s[i], i)
			}
			if _, ok := number(word); !ok && word != "true" && word != "false" {
				return nil, fmt.Errorf("when: unexpected %q at offset %d: quote strings (\"...\") and write placeholders as ${{ ... }}", word, i)
			}
			toks = append(toks, token{kind: tOperand, tmpl: Template{{Lit: word}}, off: i})
			i = j
		}
	}
	return append(toks, token{kind: tEOF, off: len(s)}), nil
}

func opAt(s string) string {
	for _, op := range ops {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// quoted reads a string literal starting at s[i]; \" \' and \\ escape.
func quoted(s string, i int) (int, string, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if j+1 < len(s) {
				j++
				b.WriteByte(s[j])
				continue
			}
		case q:
			return j + 1, b.String(), nil
		}
		b.WriteByte(s[j])
	}
	return 0, "", fmt.Errorf("when: unterminated string at offset %d", i)
}

type whenParser struct {
	toks []token
	i    int
}

func (p *whenParser) peek() token { return p.toks[p.i] }
func (p *whenParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *whenParser) or() (expr, error) {
	l, err := p.and()
	for err == nil && p.peek().kind == tOp && p.peek().op == "||" {
		p.next()
		var r expr
		if r, err = p.and(); err == nil {
			l = logic{"||", l, r}
		}
	}
	return l, err
}

func (p *whenParser) and() (expr, error) {
	l, err := p.not()
	for err == nil && p.peek().kind == tOp && p.peek().op == "&&" {
		p.next()
		var r expr
		if r, err = p.not(); err == nil {
			l = logic{"&&", l, r}
		}
	}
	return l, err
}

func (p *whenParser) not() (expr, error) {
	if t := p.peek(); t.kind == tOp && t.op == "!" {
		p.next()
		e, err := p.not()
		return negate{e}, err
	}
	return p.cmp()
}

func (p *whenParser) cmp() (expr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tOp && strings.Contains("== != < <= > >=", t.op) && t.op != "!" {
		p.next()
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		return compare{t.op, l, r}, nil
	}
	return l, nil
}

func (p *whenParser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tOperand:
		return operand(t), nil
	case tLParen:
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, fmt.Errorf("when: expected \")\" at offset %d, got %s", c.off, c)
		}
		return e, nil
	}
	return nil, fmt.Errorf("when: expected an operand at offset %d, got %s", t.off, t)
}

// val is an evaluated operand or result. Whether it came from a literal,
// a string or a placeholder does not matter: a value that parses as a
// number is one.
type val struct {
	text string
}

func (v val) number() (float64, bool) { return number(v.text) }

// number parses a finite number; NaN and Inf are text, or "NaN" would
// compare equal to every number.
func number(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func (v val) bool() (bool, error) {
	switch v.text {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("when: %q is not true or false", v.text)
}

func boolVal(b bool) val { return val{text: strconv.FormatBool(b)} }

type expr interface {
	eval(func(Ref) (string, error)) (val, error)
}

type operand token

func (o operand) eval(resolve func(Ref) (string, error)) (val, error) {
	s, err := o.tmpl.Expand(resolve)
	return val{text: s}, err
}

type negate struct{ e expr }

func (n negate) eval(resolve func(Ref) (string, error)) (val, error) {
	v, err := n.e.eval(resolve)
	if err != nil {
		return v, err
	}
	b, err := v.bool()
	return boolVal(!b), err
}

type logic struct {
	op   string
	l, r expr
}

func (x logic) eval(resolve func(Ref) (string, error)) (val, error) {
	lv, err := x.l.eval(resolve)
	if err != nil {
		return lv, err
	}
	l, err := lv.bool()
	if err != nil {
		return lv, err
	}
	if (x.op == "&&" && !l) || (x.op == "||" && l) {
		return boolVal(l), nil
	}
	rv, err := x.r.eval(resolve)
	if err != nil {
		return rv, err
	}
	r, err := rv.bool()
	return boolVal(r), err
}

type compare struct {
	op   string
	l, r expr
}

// eval compares as numbers when both sides are numbers, else as strings.
func (c compare) eval(resolve func(Ref) (string, error)) (val, error) {
	lv, err := c.l.eval(resolve)
	if err != nil {
		return lv, err
	}
	rv, err := c.r.eval(resolve)
	if err != nil {
		return rv, err
	}
	var d int
	ln, lok := lv.number()
	rn, rok := rv.number()
	switch {
	case lok && rok && ln < rn:
		d = -1
	case lok && rok && ln > rn:
		d = 1
	case lok && rok:
		d = 0
	default:
		d = strings.Compare(lv.text, rv.text)
	}
	var b bool
	switch c.op {
	case "==":
		b = d == 0
	case "!=":
		b = d != 0
	case "<":
		b = d < 0
	case "<=":
		b = d <= 0
	case ">":
		b = d > 0
	case ">=":
		b = d >= 0
	}
	return boolVal(b), nil
}
