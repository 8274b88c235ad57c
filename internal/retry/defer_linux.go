//go:build linux

package retry

import "golang.org/x/sys/unix"

// Deferred writes (Config.DeferWrites; kaio.WithDeferredWrites).
//
// A buffered write that cannot be made without blocking (ext4 refuses
// RWF_NOWAIT for all of them) goes to an offload worker, which makes it
// and wakes the goroutine waiting in GetEvents. Each of those hand-offs
// wakes a sleeping goroutine on another CPU, and on a virtual machine the
// waker pays for the interprocessor interrupt: some 30 us of its own time
// here, during which no write moves. A program that submits and reaps on
// one goroutine (aio-stress; an event loop) gains nothing from the
// worker, since it only waits for it.
//
// With DeferWrites such writes wait on deferq instead, and the goroutine
// that calls GetEvents makes them, in batches of one file's writes, before
// it reaps: the writes and their completions stay on one goroutine, with
// no wake-up between them. It is io_uring's IORING_SETUP_DEFER_TASKRUN,
// with its contract: a deferred write makes no progress until some
// goroutine calls GetEvents (any GetEvents, whatever its min_nr and
// timeout, as any io_uring_enter with GETEVENTS runs the deferred work).
// Cancel and Destroy end a deferred write like any queued request: it
// waits on deferq through its wait entry, so they unlink and kick it.
//
// Lost wake-ups: an entry is counted (deferN, deferGen) and the reapers
// asleep are woken in the critical section that links it
// (kick.LinkWaitThen). A GetEvents sleeps only in a critical section that
// finds deferN at 0, or finds that it took nothing and deferGen has not
// moved since it looked (the entries it counted were taken by another
// GetEvents, or unlinked by Cancel, whose kick ends them): a write
// deferred after that wakes the sleeper, which makes it.

// deferrable reports whether r, offloaded, is a write GetEvents makes:
// a write that a worker would batch (writeBatchable), not a Do's (whose
// goroutine waits on its own note, not in GetEvents).
//
// Under the schedule explorer (Explorer.DeferWrites) every offloaded
// request is deferred, and GetEvents' batches are its Blocking calls.
func (r *request) deferrable() bool {
	if x := r.ctx.x; x != nil {
		return x.DeferWrites && !r.sync
	}
	return r.ctx.defers && !r.sync && r.writeBatchable()
}

// deferWrite links r on deferq for a GetEvents to make. r holds its file
// (hold), as an offloaded request does.
func (c *Context) deferWrite(r *request) (int64, bool) {
	if e := r.hold(); e != 0 {
		return r.failed(e), false
	}
	ok := c.k.LinkWaitThen(&r.k, &c.deferq, 0, func() {
		c.stats.Deferred++
		c.deferN++
		c.deferGen++
		r.deferred = true
		if c.sabotaged(func(s *Sabotage) bool { return s.DeferNoWake }) {
			return
		}
		for w := c.waiters.First(); w != nil; w = w.Next() {
			w.Wake() // a reaper asleep would not see it: it makes it
		}
	})
	if !ok {
		return -int64(unix.ECANCELED), false
	}
	return 0, true
}

// runDeferredLocked makes the writes deferred so far (at most deferN of
// them, so that a stream of new ones does not keep it forever), in
// batches of one file's writes, and takes their completions in. It
// reports whether it made any. Hold c.k.Mu; it is released meanwhile.
func (c *Context) runDeferredLocked() bool {
	budget := c.deferN
	c.k.Mu.Unlock()
	ran := false
	for budget > 0 {
		var group [offBatchMax]*request
		c.deferq.Mu.Lock()
		n := c.takeDeferredLocked(&group, min(budget, len(group)))
		c.deferq.Mu.Unlock()
		if n == 0 {
			break // another GetEvents took them
		}
		budget -= n
		ran = true
		c.finishGroup(group[:n], c.writeGroup(group[:n]))
	}
	c.k.Mu.Lock()
	return ran
}

// takeDeferredLocked takes the first deferred write and the writes to the
// same file queued behind it (looking at most offScanMax entries down),
// up to max. Hold c.deferq.Mu.
func (c *Context) takeDeferredLocked(group *[offBatchMax]*request, max int) int {
	e := c.deferq.FirstLocked()
	if e == nil {
		return 0
	}
	first := e.W.(*request)
	n := 0
	for scanned := 0; e != nil && n < max && scanned < offScanMax; scanned++ {
		w := e.W.(*request)
		e = e.NextLocked()
		if w.devino != first.devino {
			continue
		}
		c.k.TakeOffloadLocked(&c.deferq, &w.k)
		group[n] = w
		n++
	}
	return n
}

// writeGroup makes group's writes, taken off a queue: in one io_submit
// on the offload batch context when there are several and Linux AIO is
// usable (waiting for an offload worker that is using it), else one by
// one. It returns how many went in the batch.
func (c *Context) writeGroup(group []*request) int {
	if len(group) > 1 {
		if b := c.batchCtx(&c.offBatch); b != nil {
			b.mu.Lock()
			if !b.closed {
				return c.blockingWrites(b, group)
			}
			b.mu.Unlock()
		}
	}
	for _, w := range group {
		w.wres, w.hasWres = c.blocking(w), true
	}
	return 0
}
