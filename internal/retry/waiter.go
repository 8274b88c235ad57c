//go:build linux

package retry

// waitFor is what a reaper waits for.
type waitFor struct {
	need int // events in the ring
}

// wakeReapersLocked wakes the reapers whose wait is satisfied. Hold k.Mu:
// the wake-up is sent under it (see core.Waiter for why).
func (c *Context) wakeReapersLocked() {
	for w := c.waiters.First(); w != nil; w = w.Next() {
		if c.ring.Len() >= w.For.need {
			w.Wake()
		}
	}
}
