//go:build linux

package kctx

import (
	"context"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Waiter is a goroutine waiting for something completions will bring (see
// core.Waiter).
type Waiter = core.Waiter[waitFor]

// WaitList is a context's sleeping and free waiters.
type WaitList = core.WaitList[waitFor]

// waitFor is what a waiter waits for. Guarded by Ctx.Mu.
type waitFor struct {
	need    int   // GetEvents: events in the user ring
	done    *bool // Do: its request's done; Cancel: its CancelOp's done
	destroy bool  // Destroy: nothing pending, nobody in the kernel, no reaper, or a request to ask again
	reaper  bool  // the eventfd reaper: no eventfd request in flight
	// Cancel of a request being issued: until it is issued, or ended
	// (refused by the kernel: free, or free and reused).
	issued *bool
	state  *state
	gen    *uint64
	was    uint64
}

// readyLocked reports whether w's wait is over. Hold Mu.
//
// The waiting protocol: at most one goroutine, kw, sleeps in the kernel
// (Kernel.SleepInKernel) for completions; the others sleep on their
// waiter until kw's drains or its leaving wake them, and when kw leaves
// it wakes them all so that one takes its place.
func (c *Ctx[P]) readyLocked(w *Waiter) bool {
	f := &w.For
	switch {
	case f.done != nil:
		return *f.done
	case f.issued != nil:
		return *f.issued || *f.state == stFree || *f.gen != f.was
	case f.destroy:
		return c.reask != nil || c.pending == 0 && !c.reaping && (c.kw == nil || c.kw == w)
	case f.reaper:
		return c.resfdReqs == 0 || c.dead
	}
	return c.events.Len() >= f.need || c.dead
}

// wakeLocked wakes the sleeping waiters whose wait is over, and notes
// whether kw must be woken too (it wakes by itself on a kernel completion,
// not on one kaio posts or on an answer given at once). Hold Mu.
func (c *Ctx[P]) wakeLocked() {
	for w := c.waiters.First(); w != nil; w = w.Next() {
		if c.readyLocked(w) {
			w.Wake()
		}
	}
	if c.kw != nil && c.readyLocked(c.kw) {
		c.wakeKW = true
	}
}

// unlockAndWake releases Mu, then wakes kw if wakeLocked said so.
func (c *Ctx[P]) unlockAndWake() {
	kick := c.wakeKW && c.kw != nil
	c.wakeKW = false
	c.Mu.Unlock()
	if kick {
		c.K.WakeKernel()
	}
}

// waitLocked sleeps until w is ready, deadline passes (zero: never) or
// ctx (may be nil) is done, and reports whether it stopped for the
// deadline or ctx. It is called and returns with Mu held.
func (c *Ctx[P]) waitLocked(w *Waiter, deadline time.Time, ctx context.Context) (expired bool) {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	for !c.readyLocked(w) {
		if c.kw == nil {
			c.kw = w
			c.Mu.Unlock()
			var stop func() bool
			if done != nil {
				stop = context.AfterFunc(ctx, c.K.WakeKernel)
			}
			timedOut := c.K.SleepInKernel(deadline)
			if stop != nil {
				stop()
			}
			c.Mu.Lock()
			c.kw = nil
			c.drainLocked()
			c.waiters.WakeAll() // one of them becomes kw
			if c.readyLocked(w) {
				return false
			}
			if timedOut || done != nil && ctx.Err() != nil {
				return true
			}
			continue
		}
		if c.waiters.Sleep(&c.Mu, w, deadline, done) && !c.readyLocked(w) {
			return true
		}
	}
	return false
}

// waitUntilLocked waits, with no deadline, until what f describes is so.
// Hold Mu.
func (c *Ctx[P]) waitUntilLocked(f waitFor) {
	w := c.waiters.Get()
	w.For = f
	c.waitLocked(w, time.Time{}, nil)
	c.waiters.Put(w)
}

// drainLocked takes in what the kernel completed, wakes the waiters that
// satisfied, and issues the next operations of the streams that go on.
// It may drop and retake Mu. Hold Mu.
func (c *Ctx[P]) drainLocked() {
	if !c.closed {
		c.K.DrainLocked()
	}
	c.wakeLocked()
	c.issueReissuesLocked()
}

// drainIfAllowedLocked is drainLocked unless only kw may drain now.
func (c *Ctx[P]) drainIfAllowedLocked() {
	if c.kw == nil || !c.K.DrainOnlyByKW() {
		c.drainLocked()
	}
}

// issueReissuesLocked issues the next operations of the streams on the
// reissue list. It drops Mu around the issue. Hold Mu.
func (c *Ctx[P]) issueReissuesLocked() {
	for c.reissue != nil {
		b := c.getBatchLocked()
		for c.reissue != nil && b.n < batchMax {
			r := c.reissue
			c.reissue = r.next
			r.next = nil
			c.K.PrepNext(r)
			r.state = stKernel
			r.issued = false
			c.pending++
			b.issue[b.n], b.gens[b.n] = r, r.gen
			b.n++
		}
		c.unlockAndWake()
		c.issue(b)
		c.Mu.Lock()
	}
}

// GetEvents implements core.Backend's GetEvents.
func (c *Ctx[P]) GetEvents(ctx context.Context, minNr int, events []core.Event, timeout time.Duration) (int, error) {
	if err := core.CheckMinNr(minNr, events); err != nil {
		return 0, err
	}
	c.Mu.Lock()
	if c.dead {
		c.Mu.Unlock()
		return 0, unix.EINVAL
	}
	c.drainIfAllowedLocked()
	n := c.events.Reap(events)
	if now, err := core.NoWait(ctx, n, minNr, timeout); now {
		c.unlockAndWake()
		return n, err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	w := c.waiters.Get()
	for {
		w.For.need = minNr - n
		expired := c.waitLocked(w, deadline, ctx)
		n += c.events.Reap(events[n:])
		if n >= minNr || expired || c.dead {
			break
		}
	}
	c.waiters.Put(w)
	dead := c.dead
	c.unlockAndWake()
	return core.WaitResult(n, dead, core.CtxErr(ctx))
}

// startReaperLocked starts the eventfd reaper if it is not running: while
// requests with an eventfd are in flight it waits for completions, so that
// their eventfds are signalled even when nobody calls GetEvents. Hold Mu.
func (c *Ctx[P]) startReaperLocked() {
	if c.reaping {
		return
	}
	c.reaping = true
	c.Go(func() {
		c.Mu.Lock()
		c.waitUntilLocked(waitFor{reaper: true})
		c.reaping = false
		c.wakeLocked() // Destroy may wait for this
		c.unlockAndWake()
	})
}

// DeadLocked reports whether Destroy has started. Hold Mu.
func (c *Ctx[P]) DeadLocked() bool { return c.dead }

// DrainKernelLocked takes in what the kernel completed, unless only kw may
// drain now, without issuing the streams' next operations: for an engine
// that holds its own submission lock (a full CQ backlog refuses new
// submissions until it is drained). Hold Mu.
func (c *Ctx[P]) DrainKernelLocked() {
	if !c.closed && (c.kw == nil || !c.K.DrainOnlyByKW()) {
		c.K.DrainLocked()
		c.wakeLocked()
	}
}
