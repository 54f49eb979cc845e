//go:build !race

package traceproof

const raceEnabled = false
