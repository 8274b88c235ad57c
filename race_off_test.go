//go:build !race

package kaio_test

const raceEnabled = false
