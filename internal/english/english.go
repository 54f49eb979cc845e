// Package english words counts for messages, so that every package of
// traceproof says "1 span" and "3 spans" the same way.
package english

import "strconv"

// Plural is "1 span", "0 spans", "3 spans": n and the noun, with an "s"
// unless n is 1.
func Plural[N ~int | ~int64 | ~uint64 | ~uint32](n N, noun string) string {
	s := strconv.FormatInt(int64(n), 10) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}
