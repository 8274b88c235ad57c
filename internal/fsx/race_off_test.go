//go:build linux && !race

package fsx

const raceEnabled = false
