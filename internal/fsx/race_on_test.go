//go:build linux && race

package fsx

// raceEnabled: the race detector makes the byte loops of long simulated
// streams ~20x slower, and finds nothing in a single goroutine's loops.
const raceEnabled = true
