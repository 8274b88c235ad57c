package kick

import "github.com/kaio-go/kaio/internal/waitq"

// The protocol broken on purpose, for the schedule explorer's sabotage
// tests (Ctx.Broken): each is a part of kick.go with one of the RFC's fixes
// undone. Production code never uses them.

// WakeUnlinkFirst is Wake as 2.6.13-rc3's aio_wake_function did it: the
// wait entry comes off (its kick is no longer owed) in one critical
// section, the kick happens in another.
func (c *Ctx) WakeUnlinkFirst(q *waitq.Queue, r *Req) Action {
	c.Mu.Lock()
	q.RemoveLocked(&r.Wait)
	r.owed = false
	c.Mu.Unlock()
	c.Mu.Lock()
	a := c.kickLocked(r)
	c.Mu.Unlock()
	return a
}

// EndWaitSplit is EndWait with its decision ("no kick owed: kick myself",
// running off) and its requeue in two critical sections.
func (c *Ctx) EndWaitSplit(r *Req) Action {
	c.Mu.Lock()
	if !r.owed {
		r.kicked = true
	}
	r.running = false
	c.Mu.Unlock()
	c.Mu.Lock()
	a := None
	if r.kicked {
		a = c.requeueLocked(r)
	}
	c.Mu.Unlock()
	return a
}

// EndWaitUnlockedCheck is EndWait with only the self-kick check (the read
// of owed) moved before the lock, as 2.6.13-rc3 had it.
func (c *Ctx) EndWaitUnlockedCheck(r *Req) Action {
	owed := r.owed
	c.Mu.Lock()
	if !owed {
		r.kicked = true
	}
	r.running = false
	a := None
	if r.kicked {
		a = c.requeueLocked(r)
	}
	c.Mu.Unlock()
	return a
}
