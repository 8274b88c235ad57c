//go:build linux && race

package kaio_test

// raceEnabled: the race detector's instrumentation allocates where the
// plain build does not (x/sys's Read and Ppoll record their buffers), so
// allocation counts are checked without it.
const raceEnabled = true
