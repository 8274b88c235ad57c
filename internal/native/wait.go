package native

import (
	"context"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// waiter is a goroutine waiting for something completions will bring: events
// (GetEvents), one request (Do, Cancel), no eventfd request in flight (the
// reaper), or nothing pending at all (Destroy). Context.waiters holds the
// sleeping ones and reuses them (see core.Waiter).
type waiter = core.Waiter[waitFor]

// waitFor is what a waiter waits for, and, when it is the kernel waiter,
// its ppoll timeout. Guarded by Context.mu.
type waitFor struct {
	need    int      // GetEvents: events in the user ring
	req     *request // Do, Cancel: this request done
	destroy bool     // Destroy: nothing pending, nobody in the kernel
	reaper  bool     // the eventfd reaper: no eventfd request in flight

	ts unix.Timespec // the kernel waiter's ppoll timeout
}

// ReadyLocked implements core.KernelEngine: whether w's wait is over.
// Hold mu.
func (c *Context) ReadyLocked(w *waiter) bool {
	switch {
	case w.For.req != nil:
		return w.For.req.done
	case w.For.destroy:
		return c.pending == 0 && (c.KW == nil || c.KW == w)
	case w.For.reaper:
		return c.resfdReqs == 0 || c.dead
	}
	return c.events.Len() >= w.For.need || c.dead
}

// SleepInKernel implements core.KernelEngine: it sleeps in ppoll on the
// context's eventfd, which every iocb signals through IOCB_FLAG_RESFD,
// until a completion or deadline, and reports the latter. It resets the eventfd before returning, before the
// caller drains: a completion after that signals it again.
func (c *Context) SleepInKernel(w *waiter, deadline time.Time) bool {
	var tsp *unix.Timespec
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return true
		}
		w.For.ts = unix.NsecToTimespec(int64(d))
		tsp = &w.For.ts
	}
	pfd := [1]unix.PollFd{{Fd: int32(c.evfd), Events: unix.POLLIN}}
	n, _ := unix.Ppoll(pfd[:], tsp, nil)
	var b [8]byte
	unix.Read(c.evfd, b[:])
	return n == 0 && !deadline.IsZero() && time.Until(deadline) <= 0
}

// WakeKernel implements core.KernelEngine: it ends the kernel waiter's
// sleep. It may run late (from context.AfterFunc): once Destroy closed the
// eventfd its number may name another file, hence the check under mu.
func (c *Context) WakeKernel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		core.SignalEventfd(c.evfd)
	}
}

// AfterKernelLocked implements core.KernelEngine.
func (c *Context) AfterKernelLocked() { c.drainLocked() }

// drainLocked reaps every completion from the kernel's ring: it completes
// requests (or moves streams on to their transfer), posts events to the
// user ring and wakes the waiters it satisfied. Hold mu.
func (c *Context) drainLocked() {
	moved := false
	if c.mapped {
		h := c.ring.loadHead()
		t := c.ring.loadTail()
		nr := uint32(len(c.ring.events))
		for h != t {
			if h >= nr || t >= nr {
				panic("kaio: inconsistent aio_ring head/tail")
			}
			ev := c.ring.events[h]
			h++
			if h == nr {
				h = 0
			}
			c.ring.storeHead(h) // before the event is handled: a transfer may poll again
			c.reapLocked1(ev.data, ev.res)
			moved = true
			t = c.ring.loadTail()
		}
	} else {
		for {
			n, e := ioGetevents(c.ctx, c.scratch[:])
			if e == unix.EINTR {
				continue
			}
			for _, ev := range c.scratch[:n] {
				c.reapLocked1(ev.data, ev.res)
			}
			moved = moved || n > 0
			if n < len(c.scratch) {
				break
			}
		}
	}
	if moved {
		c.wakeReadyLocked()
	}
}

// reapLocked1 handles one kernel completion. Hold mu.
func (c *Context) reapLocked1(ud uint64, res int64) {
	var r *request
	switch ud >> 32 {
	case kindUser:
		r = &c.reqs[uint32(ud)]
	case kindSync:
		r = c.syncs[uint32(ud)]
	default:
		panic("kaio: inconsistent aio_data in a completion")
	}
	r.inKernel = false
	c.pending--
	switch {
	case r.stream:
		if r.cancelled || c.dead {
			c.finishLocked(r, -int64(unix.ECANCELED))
		} else if res < 0 {
			c.finishLocked(r, res)
		} else {
			c.transferLocked(r)
		}
		return
	case r.iocb.Op == core.OpPoll && r.cancelled && res == 0:
		// A cancelled poll completes with the mask it saw: none.
		res = -int64(unix.ECANCELED)
	}
	c.completeLocked(r, res)
}

// completeLocked ends request r with res: the kernel is done with its
// buffers. Its event is posted, then the user's eventfd signalled, under mu:
// a reaper must see neither the event before the signal is counted nor the
// signal before the event. Hold mu.
func (c *Context) completeLocked(r *request, res int64) {
	iocb := r.iocb
	r.release()
	r.inFlight = false
	iocb.Release(&r.claim)
	c.inflight--
	c.stats.Completed++
	if res == -int64(unix.ECANCELED) {
		c.stats.Cancelled++
	}
	fd := r.resfd
	if r.sync {
		r.done, r.res = true, res
	} else {
		r.iocb = nil
		c.events.Post(core.Event{Data: iocb.Data, Obj: iocb, Res: res})
		r.nextFree = c.free
		c.free = r
	}
	if fd >= 0 {
		c.resfdReqs--
		core.SignalEventfd(fd)
	}
}

// GetEvents implements core.Backend (see core.KernelWaiters.GetEvents).
func (c *Context) GetEvents(ctx context.Context, minNr int, events []core.Event, timeout time.Duration) (int, error) {
	return c.KernelWaiters.GetEvents(&c.mu, c, ctx, minNr, events, timeout)
}

// DeadLocked implements core.KernelEngine.
func (c *Context) DeadLocked() bool { return c.dead }

// DrainLocked implements core.KernelEngine: anyone may drain the aio ring
// (the kernel waiter sleeps on the eventfd, which every completion signals).
func (c *Context) DrainLocked() { c.drainLocked() }

// ReapLocked implements core.KernelEngine.
func (c *Context) ReapLocked(events []core.Event) int { return c.events.Reap(events) }

// SetNeed implements core.KernelEngine.
func (c *Context) SetNeed(w *waiter, n int) { w.For.need = n }

// reaper waits while requests with an eventfd are in flight, so that their
// eventfds are signalled even when nobody calls GetEvents.
func (c *Context) reaper() {
	defer c.wg.Done()
	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{reaper: true})
	c.reaping = false
	c.mu.Unlock()
}

// wakeReadyLocked wakes the waiters whose wait is over. The send is
// non-blocking into a channel of capacity one, under the lock: once the
// lock is dropped the waiter may be reused. The kernel waiter, asleep in
// ppoll, is woken through the eventfd: a completion kaio posts itself (a
// NOOP, a stream transfer done at Submit) signals no eventfd of its own.
func (c *Context) wakeReadyLocked() {
	c.WakeReadyLocked(c)
	if c.KW != nil && !c.closed && c.ReadyLocked(c.KW) {
		core.SignalEventfd(c.evfd)
	}
}
