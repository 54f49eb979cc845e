package spanstore

import "encoding/binary"

// appendAttrs appends an exact encoding of as to b, for grouping: two
// attribute lists encode alike only if they hold the same keys, in the same
// order, with values of the same kinds and contents. (Their printed forms are
// not enough: an int 1, a double 1 and a string "1" all print as 1.)
func appendAttrs(b []byte, as Attributes) []byte {
	b = binary.AppendUvarint(b, uint64(len(as)))
	for _, a := range as {
		b = appendStr(b, a.Key)
		b = appendValue(b, a.Value)
	}
	return b
}

func appendValue(b []byte, v Value) []byte {
	b = append(b, byte(v.kind))
	switch v.kind {
	case KindString, KindBytes:
		b = appendStr(b, v.str)
	case KindBool, KindInt, KindDouble:
		b = binary.LittleEndian.AppendUint64(b, v.num)
	case KindSlice:
		b = binary.AppendUvarint(b, uint64(len(v.list)))
		for _, e := range v.list {
			b = appendValue(b, e)
		}
	case KindMap:
		b = appendAttrs(b, v.kvs)
	}
	return b
}

// appendStr appends s, prefixed with its length so that no two sequences of
// strings encode alike.
func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
