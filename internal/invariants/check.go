package invariants

// Check panics with "kaio: inconsistent <what>" when ok is false and checks
// are enabled. Call it as `if invariants.Enabled { invariants.Check(...) }`
// in hot paths so that release builds compile it away.
func Check(ok bool, what string) {
	if Enabled && !ok {
		panic("kaio: inconsistent " + what)
	}
}
