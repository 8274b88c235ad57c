//go:build linux && race

package kickrace

// raceEnabled: the race detector slows the explorer about tenfold.
const raceEnabled = true
