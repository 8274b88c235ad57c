//go:build linux && !race

package kaio_test

const raceEnabled = false
