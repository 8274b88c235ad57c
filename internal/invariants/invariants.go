//go:build !invariants && !race

// Package invariants turns on cheap consistency checks in builds tagged
// "invariants" and in race-detector builds (as Pebble's internal/invariants
// does). Failed checks panic with a fixed "kaio: inconsistent ..." message.
package invariants

// Enabled is true in builds that check invariants.
const Enabled = false
