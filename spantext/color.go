package spantext

// The ANSI codes of every coloured rendering, trees and lines alike.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
	ansiRed   = "\x1b[31m"
	ansiCyan  = "\x1b[36m"
	ansiYell  = "\x1b[33m"
)

// palette says whether colours are on; its methods add them only then.
type palette bool

// on starts a colour.
func (p palette) on(b []byte, code string) []byte {
	if p {
		b = append(b, code...)
	}
	return b
}

// off ends one.
func (p palette) off(b []byte) []byte {
	if p {
		b = append(b, ansiReset...)
	}
	return b
}

// wrap colours s whole, when colours are on.
func (p palette) wrap(code, s string) string {
	if !p || s == "" {
		return s
	}
	return code + s + ansiReset
}
