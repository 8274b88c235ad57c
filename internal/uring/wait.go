//go:build linux

package uring

import (
	"math"
	"time"

	"github.com/kaio-go/kaio/internal/kctx"
	"golang.org/x/sys/unix"
)

// SleepInKernel implements kctx.Kernel: it sleeps in io_uring_enter until
// a CQE is posted or deadline passes, and reports the latter.
func (c *Context) SleepInKernel(deadline time.Time) bool {
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
			c.kwTs = kernelTimespec{sec: int64(d / time.Second), nsec: int64(d % time.Second)}
			c.kwArg = getEventsArg{}
			c.kwArg.setTimeout(&c.kwTs)
			arg = &c.kwArg
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

// wakeTag is the tag of the NOP that WakeKernel issues.
var wakeTag = kctx.Tag(kctx.KindEngine, 0)

// WakeKernel implements kctx.Kernel: it ends the kernel waiter's sleep
// with a NOP (its CQE wakes it). It may run late (from context.AfterFunc),
// after Close.
func (c *Context) WakeKernel() {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return
	}
	c.Mu.Lock()
	c.InternalStartLocked()
	c.Mu.Unlock()
	if c.queueRawSmu(opNop, wakeTag, 0) != 0 {
		c.Mu.Lock()
		c.InternalDoneLocked()
		c.Mu.Unlock()
		return
	}
	if _, e := c.flushSmu(); e != 0 {
		c.Mu.Lock()
		c.InternalDoneLocked()
		c.Mu.Unlock()
	}
}

// DrainLocked implements kctx.Kernel: it moves every CQE out of the
// kernel's CQ ring. Hold Ctx.Mu.
func (c *Context) DrainLocked() {
	head, tail := c.ring.loadCQHead(), c.ring.loadCQTail()
	for ; head != tail; head++ {
		e := &c.ring.cqes[head&c.ring.cqMask]
		ud, res := e.userData, int64(e.res)
		switch kctx.KindOf(ud) {
		case kctx.KindUser, kctx.KindSync:
			c.CompletedLocked(c.ByTag(ud), res)
		case kctx.KindCancel:
			c.AnsweredLocked(c.OpByTag(ud), answer(res))
		default:
			c.InternalDoneLocked()
		}
	}
	c.ring.storeCQHead(head)
}

// DrainOnlyByKW implements kctx.Kernel: while a goroutine waits in
// io_uring_enter only it drains the CQ; a CQE taken from under it just
// before it entered would leave it asleep with its event posted.
func (c *Context) DrainOnlyByKW() bool { return true }
