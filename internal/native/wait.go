//go:build linux

package native

import (
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// SleepInKernel implements kctx.Kernel: it sleeps in ppoll on the
// context's eventfd, which every iocb signals through IOCB_FLAG_RESFD,
// until a completion or deadline, and reports the latter. It resets the
// eventfd before returning, before the caller drains: a completion after
// that signals it again.
func (c *Context) SleepInKernel(deadline time.Time) bool {
	var tsp *unix.Timespec
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return true
		}
		c.kwTs = unix.NsecToTimespec(int64(d))
		tsp = &c.kwTs
	}
	pfd := [1]unix.PollFd{{Fd: int32(c.evfd), Events: unix.POLLIN}}
	n, _ := unix.Ppoll(pfd[:], tsp, nil)
	var b [8]byte
	unix.Read(c.evfd, b[:])
	return n == 0 && !deadline.IsZero() && time.Until(deadline) <= 0
}

// WakeKernel implements kctx.Kernel: it ends the kernel waiter's sleep
// through the eventfd. It may run late (from context.AfterFunc): once
// Close closed the eventfd its number may name another file, hence the
// check under Ctx.Mu.
func (c *Context) WakeKernel() {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if !c.ClosedLocked() {
		core.SignalEventfd(c.evfd)
	}
}

// DrainLocked implements kctx.Kernel: it reaps every completion from the
// kernel's ring (io_getevents without waiting where the ring cannot be
// read in user space). Hold Ctx.Mu.
func (c *Context) DrainLocked() {
	// Until the ring is empty: handling an event may poll again (a
	// stream's transfer), and the poll may complete at once.
	for {
		n := linuxaio.Reap(c.ctx, &c.ring, c.scratch[:])
		for _, ev := range c.scratch[:n] {
			c.completed(ev.Data, ev.Res)
		}
		if n == 0 {
			return
		}
	}
}

// completed hands one kernel completion to kctx. A poll completes with the
// events asked for that are ready, plus POLLERR, POLLHUP and POLLNVAL, as
// on the other engines and as poll(2) has it: the kernel's aio_poll_wake
// reports the wake-up's whole key when it completes inline (a pipe write
// wakes with POLLIN|POLLRDNORM, 0x41, for a POLLIN poll). A cancelled poll
// completes with no events: -ECANCELED. Hold Ctx.Mu.
func (c *Context) completed(tag uint64, res int64) {
	r := c.ByTag(tag)
	if r == nil {
		panic("kaio: inconsistent aio_data in a completion")
	}
	if r.Iocb.Op == core.OpPoll && res >= 0 {
		res &= int64(r.Iocb.Events) | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
		if res == 0 && r.Cancelled() {
			res = -int64(unix.ECANCELED)
		}
	}
	c.CompletedLocked(r, res)
}

// DrainOnlyByKW implements kctx.Kernel: anyone may drain the aio ring (the
// kernel waiter sleeps on the eventfd, which every completion signals).
func (c *Context) DrainOnlyByKW() bool { return false }
