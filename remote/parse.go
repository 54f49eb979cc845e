package remote

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseQuery parses the text form of a query (see the package doc) into
// the Query the JSON form would give, and checks it as Build does, so a
// query ParseQuery accepts builds. Its errors are *[QueryError]s with the
// 1-based column, in runes, of the token at fault, and what was expected
// there.
func ParseQuery(text string) (Query, error) {
	q, err := parseQuery(text)
	if err != nil {
		return Query{}, err
	}
	return q, nil
}

func parseQuery(text string) (Query, *QueryError) {
	if len(text) > maxTextLen {
		cut := maxTextLen // the column of the rune that crosses the limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		return Query{}, lexErr(utf8.RuneCountInString(text[:cut])+1,
			fmt.Sprintf("query text of %d bytes; at most %d", len(text), maxTextLen))
	}
	p := parser{lx: lexer{src: text, col: 1}}
	if err := p.advance(); err != nil {
		return Query{}, err
	}
	q, at, err := p.pipeline()
	if err != nil {
		return Query{}, err
	}
	if p.tok.kind != tEOF {
		return Query{}, p.afterQuery("end of query")
	}
	var b builder
	if _, err := b.build(&q, "", 0); err != nil {
		err.Column = at.column(err.Field)
		return Query{}, err
	}
	return q, nil
}

// pos records where the parts of a parsed query were written, so that a
// check failing on a field ("parent.attrs[0].value") can name the column.
type pos struct {
	col    int            // where the query starts: its "{" or "("
	fields map[string]int // field → the column of its value
	attrs  []attrPos
	subs   map[string]*pos // child, descendant, parent, ancestor
}

type attrPos struct{ key, op, value int }

func newPos(col int) *pos {
	return &pos{col: col, fields: map[string]int{}, subs: map[string]*pos{}}
}

// column finds the column of a field path as Build writes them.
func (p *pos) column(path string) int {
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		if sub := p.subs[seg]; sub != nil {
			p, path = sub, rest
			continue
		}
		if i, ok := strings.CutPrefix(seg, "attrs["); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(i, "]"))
			if n < len(p.attrs) {
				switch a := p.attrs[n]; rest {
				case "op":
					return a.op
				case "value":
					return a.value
				}
				return p.attrs[n].key
			}
		}
		if seg == "attrs" && len(p.attrs) > maxAttrs {
			return p.attrs[maxAttrs].key
		}
		if c, ok := p.fields[seg]; ok {
			return c
		}
		break
	}
	return p.col
}

type parser struct {
	lx     lexer
	tok    token
	parens int // open parentheses
	subs   int // open in-brace sub-queries (child = {...})
}

// maxNesting bounds the parser's recursion. Queries nested deeper than
// maxDepth but not this deep parse, and Build's check then names the field
// and column of the first sub-query too deep.
const maxNesting = 4 * maxDepth

func (p *parser) advance() *QueryError {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(t token, format string, args ...any) *QueryError {
	return &QueryError{Column: t.col, Msg: fmt.Sprintf(format, args...)}
}

// structural operators: {L} op {R} is R with this field set to L.
var structural = map[tokKind]string{tGt: "parent", tGtGt: "ancestor", tLt: "child", tLtLt: "descendant"}

// pipeline := term { (">" | ">>" | "<" | "<<") term }, left-associative.
func (p *parser) pipeline() (Query, *pos, *QueryError) {
	q, at, err := p.term()
	if err != nil {
		return Query{}, nil, err
	}
	for {
		field, ok := structural[p.tok.kind]
		if !ok {
			return q, at, nil
		}
		op := p.tok
		if err := p.advance(); err != nil {
			return Query{}, nil, err
		}
		r, rat, err := p.term()
		if err != nil {
			return Query{}, nil, err
		}
		slot := r.sub(field)
		if *slot != nil {
			return Query{}, nil, p.errf(op, "%s: the query on its right already has %s = {…}; write one or the other", op.text, field)
		}
		left := q
		*slot = &left
		rat.subs[field] = at
		q, at = r, rat
	}
}

// sub returns the field a structural relation sets.
func (q *Query) sub(field string) **Query {
	switch field {
	case "child":
		return &q.Child
	case "descendant":
		return &q.Descendant
	case "parent":
		return &q.Parent
	}
	return &q.Ancestor
}

// term := spanset | "(" pipeline ")"
func (p *parser) term() (Query, *pos, *QueryError) {
	switch p.tok.kind {
	case tLBrace:
		return p.spanset()
	case tLParen:
		open := p.tok
		if p.parens++; p.parens > maxNesting {
			return Query{}, nil, p.errf(open, "more than %d nested parentheses", maxNesting)
		}
		if err := p.advance(); err != nil {
			return Query{}, nil, err
		}
		q, at, err := p.pipeline()
		if err != nil {
			return Query{}, nil, err
		}
		if p.tok.kind != tRParen {
			return Query{}, nil, p.afterQuery(fmt.Sprintf(") to close the ( at column %d", open.col))
		}
		p.parens--
		at.col = open.col
		return q, at, p.advance()
	}
	return Query{}, nil, p.errf(p.tok, "expected { to start a query, got %s", p.tok.describe())
}

// afterQuery is the error for a token that cannot follow a query.
func (p *parser) afterQuery(want string) *QueryError {
	switch t := p.tok; t.kind {
	case tOr:
		return p.errf(t, "|| is not supported: spansets cannot be or-ed; run one query per alternative")
	case tAnd:
		return p.errf(t, "&& between spansets is not supported; put the conditions in one { … }, or relate the spans with > >> < <<")
	case tPipe:
		return p.errf(t, "| (pipelines, aggregates) is not supported")
	case tTilde:
		return p.errf(t, "~ (sibling) is not supported; use > or < to relate spans")
	case tNot:
		return p.errf(t, "! (negated structural operators) is not supported")
	}
	return p.errf(p.tok, "expected >, >>, <, << or %s, got %s", want, p.tok.describe())
}

// spanset := "{" [ cond { "&&" cond } ] "}"
func (p *parser) spanset() (Query, *pos, *QueryError) {
	var q Query
	at := newPos(p.tok.col)
	if err := p.advance(); err != nil {
		return Query{}, nil, err
	}
	if p.tok.kind == tRBrace {
		return q, at, p.advance()
	}
	for {
		if err := p.cond(&q, at); err != nil {
			return Query{}, nil, err
		}
		switch p.tok.kind {
		case tAnd:
			if err := p.advance(); err != nil {
				return Query{}, nil, err
			}
			continue
		case tRBrace:
			return q, at, p.advance()
		case tOr:
			return Query{}, nil, p.errf(p.tok, "|| is not supported: all conditions of a query must hold; join them with &&")
		}
		if _, ok := structural[p.tok.kind]; ok {
			return Query{}, nil, p.errf(p.tok, "expected && or } after a condition, got %s (a pipeline inside { } goes in parentheses: child = ({…} > {…}))", p.tok.describe())
		}
		return Query{}, nil, p.errf(p.tok, "expected && or } after a condition, got %s", p.tok.describe())
	}
}

const intrinsics = "name, name_prefix, name_regex, kind, status, correlation, service, instance, trace_id, event, child, descendant, parent, ancestor"

// cond := intrinsic op value | attribute op value | structural "=" term
func (p *parser) cond(q *Query, at *pos) *QueryError {
	t := p.tok
	switch t.kind {
	case tAttr:
		return p.attr(q, at)
	case tIdent:
	default:
		return p.errf(t, "expected a condition: an intrinsic (%s) or an attribute (span.key, event.key, resource.key, .key), got %s", intrinsics, t.describe())
	}
	var field *string
	switch t.str {
	case "name":
		field = &q.Name
	case "name_prefix":
		field = &q.NamePrefix
	case "name_regex":
		field = &q.NameRegex
	case "kind":
		field = &q.Kind
	case "status":
		field = &q.Status
	case "correlation":
		field = &q.Correlation
	case "service":
		field = &q.Service
	case "instance":
		field = &q.Instance
	case "trace_id":
		field = &q.TraceID
	case "event":
		field = &q.Event
	case "child", "descendant", "parent", "ancestor":
		return p.subQuery(q, at)
	default:
		return p.errf(t, "unknown intrinsic %q; want one of %s, or an attribute: span.%s, event.%s, resource.%s or .%s",
			clip(t.str), intrinsics, t.str, t.str, t.str, t.str)
	}
	if err := p.advance(); err != nil {
		return err
	}
	op := p.tok
	name := t.str
	switch {
	case op.kind == tEq:
	case op.kind == tRe && name == "name":
		name, field = "name_regex", &q.NameRegex
	case name == "name":
		return p.errf(op, "name takes = or =~, got %s", op.describe())
	default:
		return p.errf(op, "%s takes =, got %s", name, op.describe())
	}
	if *field != "" {
		return p.errf(t, "%s is given twice", name)
	}
	if err := p.advance(); err != nil {
		return err
	}
	v := p.tok
	switch {
	case v.kind == tString:
	case v.kind == tIdent && (name == "kind" || name == "status"):
	case name == "kind":
		return p.errf(v, "kind takes a kind (%s), got %s", kindNames, v.describe())
	case name == "status":
		return p.errf(v, "status takes a status (%s), got %s", statusNames, v.describe())
	default:
		return p.errf(v, "%s takes a \"string\", got %s", name, v.describe())
	}
	if v.str == "" {
		return p.errf(v, "empty %s; leave the condition out to match any span", name)
	}
	*field = v.str
	at.fields[name] = v.col
	return p.advance()
}

// subQuery parses child = term (and descendant, parent, ancestor).
func (p *parser) subQuery(q *Query, at *pos) *QueryError {
	t := p.tok
	slot := q.sub(t.str)
	if *slot != nil {
		return p.errf(t, "%s is given twice", t.str)
	}
	if err := p.advance(); err != nil {
		return err
	}
	if p.tok.kind != tEq {
		return p.errf(p.tok, "%s takes = and a query, got %s", t.str, p.tok.describe())
	}
	if err := p.advance(); err != nil {
		return err
	}
	if p.subs++; p.subs > maxNesting {
		return p.errf(t, "sub-queries nested more than %d deep", maxDepth)
	}
	sub, sat, err := p.term()
	if err != nil {
		return err
	}
	p.subs--
	*slot = &sub
	at.subs[t.str] = sat
	return nil
}

// attr parses attribute op value.
func (p *parser) attr(q *Query, at *pos) *QueryError {
	t := p.tok
	if err := p.advance(); err != nil {
		return err
	}
	opTok := p.tok
	var op string
	switch opTok.kind {
	case tEq:
		op = "="
	case tNe:
		op = "!="
	case tRe:
		op = "regex"
	case tNre:
		op = "!regex"
	case tLt, tLe, tGt, tGe:
		op = opTok.text
	case tIdent:
		if opTok.str == "contains" {
			op = "contains"
			break
		}
		fallthrough
	default:
		return p.errf(opTok, "expected an operator after %s: = != =~ !~ < <= > >= or contains, got %s", clip(t.text), opTok.describe())
	}
	if err := p.advance(); err != nil {
		return err
	}
	v := p.tok
	var value any
	switch {
	case v.kind == tString:
		value = v.str
	case v.kind == tNumber:
		value = v.num
	case v.kind == tIdent && (v.str == "true" || v.str == "false"):
		value = v.str == "true"
	case v.kind == tIdent && v.str == "nil":
		switch op {
		case "=":
			op = "!exists"
		case "!=":
			op = "exists"
		default:
			return p.errf(opTok, "nil goes with = (the attribute is not set) or != (it is set), not %s", opTok.text)
		}
	case v.kind == tAttr && v.scope == "any" && isDigit(v.str[0]):
		return p.errf(v, "expected a value after %s: a \"string\", a number, true, false or nil, got attribute %s (write 0%s)", opTok.text, clip(v.text), clip(v.text))
	case v.kind == tIdent:
		return p.errf(v, "expected a value after %s: a \"string\", a number, true, false or nil, got the word %s (write strings in quotes: %q)", opTok.text, clip(v.str), v.str)
	default:
		return p.errf(v, "expected a value after %s: a \"string\", a number, true, false or nil, got %s", opTok.text, v.describe())
	}
	q.Attrs = append(q.Attrs, Attr{Key: t.str, Op: op, Value: value, Scope: t.scope})
	at.attrs = append(at.attrs, attrPos{key: t.col, op: opTok.col, value: v.col})
	return p.advance()
}
