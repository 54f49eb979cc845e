package remote

import (
	"strconv"
	"strings"
)

// QueryError is what every bad query yields, from ParseQuery, from
// [Query.UnmarshalJSON] and from [Query.Build]: it names the offending field
// and, for the text form, the column, so a server can answer 400 with both
// and a person can find the mistake.
type QueryError struct {
	// Field is the JSON path of the offending field, relative to the query:
	// "attrs[1].op", "child.kind", "parent.name_regex". It is "" for a
	// syntax error in the text form, which has only a column.
	Field string
	// Column is the 1-based column, in runes from the start of the text
	// (newlines included), of the text-form token at fault; len+1 for an
	// unexpected end. It is 0 for the JSON form, and for Build errors.
	Column int
	// Msg says what is wrong and, where it helps, what was expected.
	Msg string
}

// Error renders the error as "field: column N: msg", leaving out what is
// not set.
func (e *QueryError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Column > 0 {
		b.WriteString("column ")
		b.WriteString(strconv.Itoa(e.Column))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// under returns e with its field moved under prefix ("child", "attrs[0]").
func (e *QueryError) under(prefix string) *QueryError {
	if prefix == "" {
		return e
	}
	out := *e
	out.Field = join(prefix, e.Field)
	return &out
}

// join appends a field name to a JSON path.
func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	case strings.HasPrefix(field, "["):
		return path + field
	}
	return path + "." + field
}
