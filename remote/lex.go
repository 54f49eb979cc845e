package remote

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The text form's lexer. It works on demand, one token ahead of the parser,
// so the first error in the text is the one reported, whether the lexer or
// the parser finds it. Columns count runes from 1; an invalid UTF-8 byte
// counts as one.

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrace
	tRBrace
	tLParen
	tRParen
	tAnd   // &&
	tOr    // ||, reported as unsupported
	tPipe  // |, reported as unsupported
	tNot   // ! alone
	tTilde // ~, TraceQL's sibling operator, reported as unsupported
	tEq    // =
	tNe    // !=
	tRe    // =~
	tNre   // !~
	tLt    // <
	tLe    // <=
	tLtLt  // <<
	tGt    // >
	tGe    // >=
	tGtGt  // >>
	tString
	tNumber
	tIdent
	tAttr // span.key, event.key, resource.key, .key
)

type token struct {
	kind  tokKind
	col   int
	text  string // as written
	str   string // tString: decoded; tIdent: the word; tAttr: the key
	scope string // tAttr: span, event, resource or any
	num   any    // tNumber: int64 or float64
}

// describe names a token for "got ..." in messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string " + clip(t.text)
	case tNumber:
		return "number " + t.text
	case tAttr:
		return "attribute " + clip(t.text)
	}
	return strconv.Quote(t.text)
}

// clip shortens what a message quotes from the input.
func clip(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

type lexer struct {
	src string
	off int // byte offset of the next rune
	col int // its column
}

func (lx *lexer) peekByte(ahead int) byte {
	if lx.off+ahead < len(lx.src) {
		return lx.src[lx.off+ahead]
	}
	return 0
}

// step consumes one rune.
func (lx *lexer) step() rune {
	r, n := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += n
	lx.col++
	return r
}

func lexErr(col int, msg string) *QueryError { return &QueryError{Column: col, Msg: msg} }

func (lx *lexer) next() (token, *QueryError) {
	for lx.off < len(lx.src) && strings.IndexByte(" \t\r\n", lx.src[lx.off]) >= 0 {
		lx.step()
	}
	start, col := lx.off, lx.col
	tok := func(k tokKind, n int) (token, *QueryError) {
		for range n {
			lx.step()
		}
		return token{kind: k, col: col, text: lx.src[start:lx.off]}, nil
	}
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, col: col}, nil
	}
	c, c1 := lx.peekByte(0), lx.peekByte(1)
	switch c {
	case '{':
		return tok(tLBrace, 1)
	case '}':
		return tok(tRBrace, 1)
	case '(':
		return tok(tLParen, 1)
	case ')':
		return tok(tRParen, 1)
	case '&':
		if c1 == '&' {
			return tok(tAnd, 2)
		}
		return token{}, lexErr(col, `expected && ("and"); a single & is not an operator`)
	case '|':
		if c1 == '|' {
			return tok(tOr, 2)
		}
		return tok(tPipe, 1)
	case '~':
		return tok(tTilde, 1)
	case '=':
		if c1 == '~' {
			return tok(tRe, 2)
		}
		return tok(tEq, 1)
	case '!':
		switch c1 {
		case '=':
			return tok(tNe, 2)
		case '~':
			return tok(tNre, 2)
		}
		return tok(tNot, 1)
	case '<':
		switch c1 {
		case '=':
			return tok(tLe, 2)
		case '<':
			return tok(tLtLt, 2)
		}
		return tok(tLt, 1)
	case '>':
		switch c1 {
		case '=':
			return tok(tGe, 2)
		case '>':
			return tok(tGtGt, 2)
		}
		return tok(tGt, 1)
	case '"':
		return lx.lexString()
	case '.':
		lx.step()
		return lx.lexKey(start, col, "any")
	}
	if c == '-' || isDigit(c) {
		return lx.lexNumber()
	}
	if isIdentStart(c) {
		for lx.off < len(lx.src) && isIdentByte(lx.src[lx.off]) {
			lx.step()
		}
		word := lx.src[start:lx.off]
		if lx.peekByte(0) == '.' && (word == "span" || word == "event" || word == "resource") {
			lx.step()
			return lx.lexKey(start, col, word)
		}
		return token{kind: tIdent, col: col, text: word, str: word}, nil
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
	return token{}, lexErr(col, "unexpected character "+strconv.QuoteRune(r))
}

// lexKey reads an attribute key after "span.", "event.", "resource." or
// ".": bare (letters, digits, _ . - / : @) or a quoted string.
func (lx *lexer) lexKey(start, col int, scope string) (token, *QueryError) {
	var key string
	if lx.peekByte(0) == '"' {
		s, err := lx.lexString()
		if err != nil {
			return token{}, err
		}
		key = s.str
	} else {
		k := lx.off
		for lx.off < len(lx.src) {
			r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
			if !isKeyRune(r) {
				break
			}
			lx.step()
		}
		key = lx.src[k:lx.off]
	}
	if key == "" {
		return token{}, lexErr(col, "expected an attribute key after "+strconv.Quote(lx.src[start:lx.off]))
	}
	return token{kind: tAttr, col: col, text: lx.src[start:lx.off], str: key, scope: scope}, nil
}

// lexString reads a double-quoted string with Go's escapes (\" \\ \n \t
// \x41 \u00e9 ...), as String writes them with strconv.Quote. The string
// must be valid UTF-8, as OTLP's strings are (and JSON's).
func (lx *lexer) lexString() (token, *QueryError) {
	start, col := lx.off, lx.col
	lx.step() // the opening quote
	var b []byte
	for {
		if lx.off >= len(lx.src) {
			return token{}, lexErr(col, "unterminated string")
		}
		switch c := lx.src[lx.off]; c {
		case '"':
			lx.step()
			if !utf8.Valid(b) {
				return token{}, lexErr(col, `string escapes make invalid UTF-8; write other characters as themselves or as \u escapes`)
			}
			return token{kind: tString, col: col, text: lx.src[start:lx.off], str: string(b)}, nil
		case '\n':
			return token{}, lexErr(col, "unterminated string (a newline in a string must be written \\n)")
		case '\\':
			r, multibyte, tail, err := strconv.UnquoteChar(lx.src[lx.off:], '"')
			if err != nil {
				return token{}, lexErr(lx.col, "invalid escape "+lx.escape()+" in string")
			}
			if r < utf8.RuneSelf || !multibyte {
				b = append(b, byte(r))
			} else {
				b = utf8.AppendRune(b, r)
			}
			lx.col += len(lx.src) - lx.off - len(tail) // escapes are ASCII
			lx.off = len(lx.src) - len(tail)
		default:
			if r, n := utf8.DecodeRuneInString(lx.src[lx.off:]); r == utf8.RuneError && n == 1 {
				return token{}, lexErr(lx.col, "invalid UTF-8 in string")
			}
			n := lx.off
			lx.step()
			b = append(b, lx.src[n:lx.off]...)
		}
	}
}

// escape shows the escape at the lexer's position: a backslash and the
// rune after it, quoted if that is not printable.
func (lx *lexer) escape() string {
	if lx.off+1 >= len(lx.src) {
		return `\`
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.off+1:])
	if !strconv.IsPrint(r) || r == utf8.RuneError {
		return strconv.Quote(`\` + string(r))
	}
	return `\` + string(r)
}

// lexNumber reads -?digits[.digits][e[+-]digits]: without a fraction or
// exponent an int64, else a float64.
func (lx *lexer) lexNumber() (token, *QueryError) {
	start, col := lx.off, lx.col
	digits := func() int {
		n := 0
		for isDigit(lx.peekByte(0)) {
			lx.step()
			n++
		}
		return n
	}
	if lx.peekByte(0) == '-' {
		lx.step()
	}
	float := false
	bad := digits() == 0
	if !bad && lx.peekByte(0) == '.' {
		lx.step()
		float, bad = true, digits() == 0
	}
	if c := lx.peekByte(0); !bad && (c == 'e' || c == 'E') {
		lx.step()
		if c := lx.peekByte(0); c == '+' || c == '-' {
			lx.step()
		}
		float, bad = true, digits() == 0
	}
	// A number runs into no letter or dot: 3s, 0x1f and 1.2.3 are errors.
	for lx.off < len(lx.src) {
		r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
		if !isKeyRune(r) {
			break
		}
		bad = true
		lx.step()
	}
	text := lx.src[start:lx.off]
	if bad {
		if text == "-" {
			return token{}, lexErr(col, "unexpected character '-'")
		}
		return token{}, lexErr(col, "invalid number "+strconv.Quote(clip(text))+"; want an integer like 3 or -3, or a float like 2.5 or 1e-3")
	}
	t := token{kind: tNumber, col: col, text: text}
	if !float {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return token{}, lexErr(col, "integer "+clip(text)+" is out of the range of int64")
		}
		t.num = n
		return t, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, lexErr(col, "number "+clip(text)+" is out of the range of float64")
	}
	t.num = f
	return t, nil
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentByte(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// isKeyRune says which runes a bare attribute key may hold; String quotes
// keys with any other.
func isKeyRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/:@", r)
}
