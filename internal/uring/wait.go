package uring

import (
	"context"
	"math"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// waiter is a goroutine waiting for something the CQ will bring: events
// (GetEvents), one request (Do, Cancel), no eventfd request in flight (the
// reaper), or nothing pending at all (Destroy). Context.waiters holds the
// sleeping ones and reuses them (see core.Waiter).
type waiter = core.Waiter[waitFor]

// waitFor is what a waiter waits for, and, when it is the kernel waiter,
// its syscall arguments. Guarded by Context.mu.
type waitFor struct {
	need    int      // GetEvents: events in the user ring
	req     *request // Do, Cancel: this request done
	destroy bool     // Destroy: nothing pending, nobody in the kernel
	reaper  bool     // the eventfd reaper: no eventfd request in flight

	// The kernel waiter's io_uring_enter arguments. They live here, in
	// the heap (in the waiter), because the kernel reads them through a
	// pointer the syscall gets as an integer: a goroutine stack may move,
	// the heap does not.
	arg getEventsArg
	ts  unix.Timespec
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

// SleepInKernel implements core.KernelEngine: it sleeps in io_uring_enter
// until a CQE is posted or deadline passes, and reports the latter.
func (c *Context) SleepInKernel(w *waiter, deadline time.Time) bool {
	var arg *getEventsArg
	var d time.Duration
	if !deadline.IsZero() {
		if d = time.Until(deadline); d <= 0 {
			return true
		}
	}
	if c.extArg || deadline.IsZero() {
		flags := uint32(enterGetEvents)
		if !deadline.IsZero() {
			w.For.ts = unix.NsecToTimespec(int64(d))
			w.For.arg = getEventsArg{}
			w.For.arg.setTimeout(&w.For.ts)
			arg = &w.For.arg
			flags |= enterExtArg
		}
		switch _, e := enter(c.fd, 0, 1, flags, arg); e {
		case 0, unix.EINTR, unix.EAGAIN, unix.EBUSY:
			return false
		case unix.ETIME:
			return true
		}
		// io_uring_enter refused (say, by a seccomp profile): wait in
		// poll(2) instead, so as not to spin.
	}
	// Before 5.11 io_uring_enter takes no timeout: the ring fd polls
	// readable when the CQ is not empty.
	ms := -1
	if !deadline.IsZero() {
		ms = int(min((d+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
	}
	pfd := [1]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(pfd[:], ms)
	return n == 0 && !deadline.IsZero() && time.Until(deadline) <= 0
}

// WakeKernel implements core.KernelEngine: it ends the kernel waiter's
// sleep with a NOP (its CQE wakes it).
func (c *Context) WakeKernel() {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return
	}
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
	c.queueRawSmu(opNop, userData(kindIgnore, 0), 0, 0)
	c.flushSmu()
}

// AfterKernelLocked implements core.KernelEngine.
func (c *Context) AfterKernelLocked() { c.drainResubmitLocked() }

// drainResubmitLocked drains the CQ and issues the continuations the drain
// queued. Hold mu; it is dropped around the resubmission, which takes smu
// (ahead of mu in the lock order).
func (c *Context) drainResubmitLocked() {
	c.drainLocked()
	if c.resub != nil {
		c.mu.Unlock()
		c.resubmit()
		c.mu.Lock()
	}
}

// drainLocked moves every CQE out of the kernel's CQ ring: it completes
// requests, posts their events to the user ring and wakes the waiters it
// satisfied. Hold mu.
func (c *Context) drainLocked() {
	head, tail := c.ring.loadCQHead(), c.ring.loadCQTail()
	if head == tail {
		return
	}
	for ; head != tail; head++ {
		e := &c.ring.cqes[head&c.ring.cqMask]
		c.handleCQELocked(e.userData, int64(e.res))
	}
	c.ring.storeCQHead(head)
	c.wakeReadyLocked()
}

// handleCQELocked handles one completion. Hold mu.
func (c *Context) handleCQELocked(ud uint64, res int64) {
	c.pending--
	var r *request
	switch ud >> 32 {
	case kindUser:
		r = &c.reqs[uint32(ud)]
	case kindSync:
		r = c.syncs[uint32(ud)]
	default:
		return
	}
	if r.cancel {
		r.inFlight, r.done, r.res = false, true, res
		return
	}
	if r.stream {
		again := res == -int64(unix.EAGAIN) && !r.nowait
		if (again || res > 0 && r.iocb.Op.Writes() && r.written+res < r.iocb.Len()) && !c.dead && !r.cancelled {
			r.written += max(res, 0)
			r.resub = true
			r.nextResub = c.resub
			c.resub = r
			return
		}
		if r.written > 0 {
			res = r.written + max(res, 0)
		}
	}
	c.completeLocked(r, res)
}

// completeLocked ends request r with res: the kernel is done with its
// buffers. Its event is posted, then its eventfd signalled. The eventfd is
// written under mu, unlike the retry engine's: a reaper must not see the
// event before the signal is counted (users count signals against events
// reaped), nor the signal before the event; eventfd writes do not block
// short of a counter near 2^64. Hold mu.
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

// DrainLocked implements core.KernelEngine: drain the CQ unless a kernel
// waiter is in io_uring_enter (only it drains then: a CQE taken from under
// it just before it entered would leave it asleep with its event posted).
func (c *Context) DrainLocked() {
	if c.KW == nil {
		c.drainResubmitLocked()
	}
}

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

// wakeReadyLocked wakes the sleeping waiters whose wait is over; the
// kernel waiter wakes on the CQE itself. Hold mu.
func (c *Context) wakeReadyLocked() { c.WakeReadyLocked(c) }
