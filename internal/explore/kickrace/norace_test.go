//go:build linux && !race

package kickrace

const raceEnabled = false
