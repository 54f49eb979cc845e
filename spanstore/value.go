package spanstore

import (
	"bytes"
	"encoding/base64"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// ValueKind is the type of an attribute value, as in OTLP's AnyValue.
type ValueKind uint8

// Value kinds.
const (
	KindEmpty ValueKind = iota
	KindString
	KindBool
	KindInt
	KindDouble
	KindBytes
	KindSlice
	KindMap
)

var valueKindNames = [...]string{"Empty", "Str", "Bool", "Int", "Double", "Bytes", "Slice", "Map"}

func (k ValueKind) String() string {
	if int(k) < len(valueKindNames) {
		return valueKindNames[k]
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a typed attribute value. The zero Value is Empty.
type Value struct {
	kind ValueKind
	num  uint64 // bool, int64 or float64 bits
	str  string // string, or raw bytes
	list []Value
	kvs  Attributes
}

// Constructors for values, mostly useful in tests and queries.
func StringValue(s string) Value    { return Value{kind: KindString, str: s} }
func BoolValue(b bool) Value        { return Value{kind: KindBool, num: b2u(b)} }
func IntValue(i int64) Value        { return Value{kind: KindInt, num: uint64(i)} }
func DoubleValue(f float64) Value   { return Value{kind: KindDouble, num: math.Float64bits(f)} }
func BytesValue(b []byte) Value     { return Value{kind: KindBytes, str: string(b)} }
func SliceValue(vs ...Value) Value  { return Value{kind: KindSlice, list: vs} }
func MapValue(kvs Attributes) Value { return Value{kind: KindMap, kvs: kvs} }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// ValueOf converts a Go value (string, bool, any integer or float type,
// []byte, a slice of those, map[string]any, or a Value) to a Value. Anything
// else becomes its fmt string.
func ValueOf(x any) Value {
	switch v := x.(type) {
	case Value:
		return v
	case nil:
		return Value{}
	case string:
		return StringValue(v)
	case bool:
		return BoolValue(v)
	case int:
		return IntValue(int64(v))
	case int8:
		return IntValue(int64(v))
	case int16:
		return IntValue(int64(v))
	case int32:
		return IntValue(int64(v))
	case int64:
		return IntValue(v)
	case uint:
		return IntValue(int64(v))
	case uint8:
		return IntValue(int64(v))
	case uint16:
		return IntValue(int64(v))
	case uint32:
		return IntValue(int64(v))
	case uint64:
		return IntValue(int64(v))
	case float32:
		return DoubleValue(float64(v))
	case float64:
		return DoubleValue(v)
	case []byte:
		return BytesValue(v)
	case map[string]any:
		kvs := make(Attributes, 0, len(v))
		for k, e := range v {
			kvs = append(kvs, Attr{Key: k, Value: ValueOf(e)})
		}
		return MapValue(kvs)
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		vs := make([]Value, rv.Len())
		for i := range vs {
			vs[i] = ValueOf(rv.Index(i).Interface())
		}
		return SliceValue(vs...)
	}
	return StringValue(strings.TrimSpace(reflect.ValueOf(x).String()))
}

// Kind reports the value's type.
func (v Value) Kind() ValueKind { return v.kind }

// Str returns the string of a KindString value, else "".
func (v Value) Str() string {
	if v.kind == KindString {
		return v.str
	}
	return ""
}

// Bool returns a KindBool value.
func (v Value) Bool() bool { return v.kind == KindBool && v.num != 0 }

// Int returns a KindInt value.
func (v Value) Int() int64 {
	if v.kind == KindInt {
		return int64(v.num)
	}
	return 0
}

// Double returns a KindDouble value.
func (v Value) Double() float64 {
	if v.kind == KindDouble {
		return math.Float64frombits(v.num)
	}
	return 0
}

// Bytes returns a KindBytes value.
func (v Value) Bytes() []byte {
	if v.kind == KindBytes {
		return []byte(v.str)
	}
	return nil
}

// Slice returns a KindSlice value's elements.
func (v Value) Slice() []Value { return v.list }

// Map returns a KindMap value's entries.
func (v Value) Map() Attributes { return v.kvs }

// Number returns an Int or Double value as float64, and whether it is one.
func (v Value) Number() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(int64(v.num)), true
	case KindDouble:
		return math.Float64frombits(v.num), true
	}
	return 0, false
}

// AsString renders any value as text: strings as they are, numbers and bools
// as Go formats them, bytes as base64 (as OTLP/JSON does), slices and maps
// as JSON-like text.
func (v Value) AsString() string {
	switch v.kind {
	case KindEmpty:
		return ""
	case KindString:
		return v.str
	case KindBool:
		return strconv.FormatBool(v.Bool())
	case KindInt:
		return strconv.FormatInt(v.Int(), 10)
	case KindDouble:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case KindBytes:
		return base64.StdEncoding.EncodeToString([]byte(v.str))
	case KindSlice:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range v.list {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(e.quoted())
		}
		b.WriteByte(']')
		return b.String()
	case KindMap:
		var b strings.Builder
		b.WriteByte('{')
		for i, kv := range v.kvs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(kv.Key))
			b.WriteByte(':')
			b.WriteString(kv.Value.quoted())
		}
		b.WriteByte('}')
		return b.String()
	}
	return ""
}

func (v Value) quoted() string {
	if v.kind == KindString || v.kind == KindBytes {
		return strconv.Quote(v.AsString())
	}
	return v.AsString()
}

// String is AsString, so values print naturally.
func (v Value) String() string { return v.AsString() }

// Equal compares v with x the way a tester means it: x may be a Value or any
// Go value ValueOf accepts. Integers and doubles compare by number (an int
// attribute 42 equals 42, int64(42) and 42.0); strings, bools and bytes by
// value; slices and maps element-wise (map order ignored). A string never
// equals a number: "42" is not 42.
func (v Value) Equal(x any) bool {
	w := ValueOf(x)
	if a, ok := v.Number(); ok {
		b, ok := w.Number()
		if !ok {
			return false
		}
		if v.kind == KindInt && w.kind == KindInt {
			return v.num == w.num
		}
		return a == b
	}
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindEmpty:
		return true
	case KindString, KindBytes:
		return v.str == w.str
	case KindBool:
		return v.num == w.num
	case KindSlice:
		if len(v.list) != len(w.list) {
			return false
		}
		for i := range v.list {
			if !v.list[i].Equal(w.list[i]) {
				return false
			}
		}
		return true
	case KindMap:
		if len(v.kvs) != len(w.kvs) {
			return false
		}
		for _, kv := range v.kvs {
			o, ok := w.kvs.Get(kv.Key)
			if !ok || !kv.Value.Equal(o) {
				return false
			}
		}
		return true
	}
	return false
}

// Compare orders two numeric values: -1, 0 or +1, and false when either is not
// a number.
func (v Value) Compare(x any) (int, bool) {
	a, ok1 := v.Number()
	b, ok2 := ValueOf(x).Number()
	if !ok1 || !ok2 {
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

// Attr is one key/value attribute.
type Attr struct {
	Key   string
	Value Value
}

// Attributes is an ordered list of attributes, in the order they arrived.
type Attributes []Attr

// Get returns the value of key.
func (as Attributes) Get(key string) (Value, bool) {
	for _, a := range as {
		if a.Key == key {
			return a.Value, true
		}
	}
	return Value{}, false
}

// Str returns key's value rendered as a string, or "" when it is absent.
func (as Attributes) Str(key string) string {
	v, _ := as.Get(key)
	return v.AsString()
}

// String renders the attributes as "k=v k=v".
func (as Attributes) String() string {
	var b bytes.Buffer
	for i, a := range as {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value.quotedIfSpace())
	}
	return b.String()
}

func (v Value) quotedIfSpace() string {
	s := v.AsString()
	if v.kind == KindString && (s == "" || strings.ContainsAny(s, " \t\n\"=")) {
		return strconv.Quote(s)
	}
	return s
}
