package remote

// Query is the remote API's query (DESIGN.md, "Remote API"): each field
// set is one condition, and a span must meet all of them. The zero Query
// selects every span. An empty string means the field is not set, so the
// wire forms reject an explicit "" rather than silently match everything.
//
// It is the JSON object servers receive, and what [ParseQuery] makes of the
// text form, so both forms share [Query.Build]:
//
//	{"name": "publish_event", "correlation": "order-A1",
//	 "attrs": [{"key": "event_name", "value": "payment.processed"}]}
//	{ name = "publish_event" && correlation = "order-A1" && .event_name = "payment.processed" }
type Query struct {
	// Name is the exact span name.
	Name string `json:"name,omitempty"`
	// NamePrefix is the start of the span name.
	NamePrefix string `json:"name_prefix,omitempty"`
	// NameRegex is a regular expression (Go's RE2 syntax, unanchored) the
	// name must match.
	NameRegex string `json:"name_regex,omitempty"`
	// Kind is internal, server, client, producer, consumer or unspecified.
	Kind string `json:"kind,omitempty"`
	// Status is the span status code: unset, ok or error.
	Status string `json:"status,omitempty"`
	// Correlation selects the spans of traces that carry this value under
	// one of the store's correlation keys, on any of their spans, as
	// assert.Query.Correlated does.
	Correlation string `json:"correlation,omitempty"`
	// Service is the resource's service.name.
	Service string `json:"service,omitempty"`
	// Instance is the emitting instance (service.instance.id, else
	// host.name, else the sender's address).
	Instance string `json:"instance,omitempty"`
	// TraceID is the trace, as 32 hex digits.
	TraceID string `json:"trace_id,omitempty"`
	// Attrs are attribute conditions, each of which must hold.
	Attrs []Attr `json:"attrs,omitempty"`
	// Event is the name of a span event the span recorded.
	Event string `json:"event,omitempty"`
	// Child, Descendant, Parent and Ancestor relate the span to others of
	// its trace: it has a direct child matching Child, some descendant
	// matching Descendant, a parent matching Parent, an ancestor matching
	// Ancestor.
	Child      *Query `json:"child,omitempty"`
	Descendant *Query `json:"descendant,omitempty"`
	Parent     *Query `json:"parent,omitempty"`
	Ancestor   *Query `json:"ancestor,omitempty"`
}

// Attr is one attribute condition of a [Query]: the span has attribute Key,
// in Scope, whose value satisfies Op and Value.
//
// Op is one of
//
//	=  !=           equal, not equal (typed: 3 equals 3.0, never "3")
//	exists  !exists the key is set; is not set (Value must be nil)
//	contains        a string holding Value, or a list holding an element equal to it
//	regex  !regex   the value's text matches / does not match the regular expression Value
//	<  <=  >  >=    numbers only: a value that is not a number never matches
//
// and "" means "=". DESIGN.md names all but !exists and !regex, which are
// the text form's `= nil` and `!~`.
//
// Value is a string, bool, int64 or float64 (other Go integer and float
// types are accepted by Build). Decoded JSON follows the text form: a JSON
// integer is an int64, a number with a fraction or exponent a float64.
//
// Scope is span (the span's own attributes), event (its span events'),
// resource (the emitting process's) or any (all three; "" means any). With
// any, a condition holds when any value found satisfies it: != "x" holds
// for a span whose event has another value, even if the span itself has
// "x". A span that lacks the key meets no condition but !exists.
type Attr struct {
	Key   string `json:"key"`
	Op    string `json:"op,omitempty"`
	Value any    `json:"value,omitempty"`
	Scope string `json:"scope,omitempty"`
}

// Limits, so a query from the network costs bounded work to check and to
// evaluate.
const (
	maxDepth    = 16       // levels of sub-queries below the top one
	maxQueries  = 64       // query objects in all, the top one included
	maxAttrs    = 32       // attrs of one query object
	maxRegexLen = 1 << 10  // bytes of one regular expression
	maxTextLen  = 64 << 10 // bytes of one text query
)
