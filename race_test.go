//go:build race

package traceproof

const raceEnabled = true
