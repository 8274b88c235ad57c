//go:build !race

package kickrace

const raceEnabled = false
