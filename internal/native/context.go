//go:build linux

package native

import (
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kctx"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// syncSlots is how many kernel slots are kept beyond nrEvents for Do.
const syncSlots = 64

// Context is a Linux AIO engine context. Its bookkeeping (requests,
// claims, the user ring, waiters, cancel, destroy) is kctx's; Context is
// the kernel half (kctx.Kernel).
type Context struct {
	kctx.Ctx[request]

	nr   int
	ctx  linuxaio.Context
	evfd int // the IOCB_FLAG_RESFD of every iocb: wakes the waiter in ppoll
	ring linuxaio.Ring

	// Guarded by Ctx.Mu: the drain's buffer of completions, and the
	// kernel waiter's ppoll timeout (one kernel waiter at
	// a time; in the heap, as the kernel reads it through a pointer).
	scratch [64]linuxaio.Event
	kwTs    unix.Timespec
}

var _ kctx.Kernel[request] = (*Context)(nil)

// New creates an AIO context with room for nr completions.
func New(nr int) (*Context, error) {
	if nr <= 0 {
		return nil, unix.EINVAL
	}
	ctx, hdr, err := linuxaio.Setup(nr + syncSlots)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		linuxaio.Destroy(ctx)
		return nil, err
	}
	c := &Context{nr: nr, ctx: ctx, evfd: evfd}
	c.ring.Map(hdr) // else Reap uses io_getevents
	c.Init(c, nr, func(r *req) { r.P.k = new(linuxaio.Iocb) })
	return c, nil
}

// Prep implements kctx.Kernel: r's kiocb. NOOP, which Linux AIO refuses,
// completes here with 0; a stream transfer with the caller's RWF_NOWAIT is
// made here, once.
func (c *Context) Prep(r *req, seekable bool) (bool, int64) {
	switch {
	case r.Iocb.Op == core.OpNoop:
		return true, 0
	case r.Stream && r.NoWait:
		_, res := c.transfer(r)
		return true, res
	}
	if r.P.k == nil {
		r.P.k = new(linuxaio.Iocb) // a sync request's first use
	}
	prep(r, c.evfd)
	return false, 0
}

// PrepNext implements kctx.Kernel: a stream's poll iocb, again (its kiocb
// stays pinned from the first prep until the request is done).
func (c *Context) PrepNext(r *req) {
	*r.P.k = linuxaio.Iocb{Data: r.Tag, Fildes: uint32(r.Fd), LioOpcode: linuxaio.CmdPoll, Flags: linuxaio.FlagResFd, Resfd: uint32(c.evfd)}
	r.P.k.Buf = unix.POLLIN
	if r.Iocb.Op.Writes() {
		r.P.k.Buf = unix.POLLOUT
	}
}

// Issue implements kctx.Kernel with io_submit. An iocb the kernel refuses
// (a check kaio could not make, such as an RWF flag this kernel lacks) is
// reported with its errno; kctx completes it with that and issues the rest.
func (c *Context) Issue(rs []*req) (int, unix.Errno) {
	var ptrs [64]uintptr
	done := 0
	for done < len(rs) {
		batch := rs[done:min(len(rs), done+len(ptrs))]
		for j, r := range batch {
			ptrs[j] = linuxaio.Addr(r.P.k)
		}
		n, e := linuxaio.Submit(c.ctx, ptrs[:len(batch)])
		switch e {
		case 0:
			done += n
		case unix.EINTR:
		case unix.EAGAIN:
			// The kernel context is out of slots (only Do can get
			// there): wait for completions to free some.
			time.Sleep(100 * time.Microsecond)
		default:
			return done, e
		}
	}
	return done, 0
}

// SyncCancel implements kctx.Kernel: io_cancel finds the iocb by its
// address, which the request's next incarnation reuses, so it is asked
// under Ctx.Mu, where the request cannot complete and be reused.
func (c *Context) SyncCancel() bool { return true }

// AskCancel implements kctx.Kernel with io_cancel, which the kernel answers
// for polls only (see the package doc): file I/O is Busy, to end with its
// real result. Hold Ctx.Mu.
func (c *Context) AskCancel(op *kctx.CancelOp[request]) kctx.Answer {
	r := op.Target()
	if !r.Stream && r.Iocb.Op != core.OpPoll {
		return kctx.Busy
	}
	var ev linuxaio.Event
	switch linuxaio.Cancel(c.ctx, r.P.k, &ev) {
	case 0:
		// Kernels before 4.19 complete a cancelled iocb through
		// io_cancel's result instead of the ring.
		c.CompletedLocked(r, -int64(unix.ECANCELED))
		return kctx.Cancelled
	case unix.EINPROGRESS:
		return kctx.Cancelled // the event comes through the ring
	case unix.EAGAIN:
		return kctx.Busy
	}
	return kctx.NotFound // EINVAL: it completed; its event is in the ring
}

// Continue implements kctx.Kernel for pipes, sockets and other streams:
// the poll completed (res is its mask, or an error), or a blocking
// transfer returned; the transfer goes on, or the stream polls again.
func (c *Context) Continue(r *req, res int64, blocked bool) (kctx.Step, int64) {
	switch {
	case res < 0:
		return kctx.Finish, failed(r, res)
	case blocked:
		if r.Iocb.Op.Reads() || res == 0 {
			return kctx.Finish, r.Written + res
		}
		r.Written += res
		if r.Written == r.Iocb.Len() {
			return kctx.Finish, r.Written
		}
	}
	return c.transfer(r)
}

// failed is the result of an error res after a stream's progress.
func failed(r *req, res int64) int64 {
	if r.Written > 0 {
		return r.Written
	}
	return res
}

// transfer does a stream request's transfer once its fd polled ready (or
// at once for the caller's RWF_NOWAIT) with preadv2/pwritev2 and
// RWF_NOWAIT, on the request's own fd, under Ctx.Mu: the calls do not
// block. A file that refuses RWF_NOWAIT is read without it when the fd is
// non-blocking, and otherwise by Block, off the lock.
func (c *Context) transfer(r *req) (kctx.Step, int64) {
	i := r.Iocb
	flags := i.RWFlags | unix.RWF_NOWAIT
	for {
		iov := r.P.buildIov(i, r.Written, false)
		// Not raw: a call without RWF_NOWAIT (below) runs longer.
		n, e := core.RWv(i.Op.Writes(), r.Fd, iov, -1, flags, false)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EOPNOTSUPP && flags&unix.RWF_NOWAIT != 0 && !r.NoWait:
			if fl, err := unix.FcntlInt(uintptr(r.Fd), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK != 0 {
				flags &^= unix.RWF_NOWAIT // a non-blocking fd does not block without it
				continue
			}
			return kctx.Blocking, 0
		case e == unix.EAGAIN && !r.NoWait:
			return kctx.Again, 0
		case e != 0:
			return kctx.Finish, failed(r, -int64(e))
		case i.Op.Reads():
			return kctx.Finish, int64(n)
		}
		r.Written += int64(n)
		if n == 0 || r.Written == i.Len() || r.NoWait {
			return kctx.Finish, r.Written
		}
	}
}

// Block implements kctx.Kernel: a stream's transfer on a blocking fd that
// refuses RWF_NOWAIT, made once the fd polled ready, off the lock. It
// blocks if another reader took the data in between, until more comes;
// Cancel answers EAGAIN meanwhile, and Destroy waits for it, as io_destroy
// waits for what it cannot cancel.
func (c *Context) Block(r *req) int64 {
	i := r.Iocb
	for {
		iov := r.P.buildIov(i, r.Written, false)
		n, e := core.RWv(i.Op.Writes(), r.Fd, iov, -1, i.RWFlags, false)
		switch e {
		case 0:
			return int64(n)
		case unix.EINTR:
			continue
		}
		return -int64(e)
	}
}

// Release implements kctx.Kernel.
func (c *Context) Release(r *req) { r.P.release() }

// Close implements kctx.Kernel: io_destroy, which itself takes some 30-50
// ms on Linux 6.18 (it waits for an RCU grace period), and the eventfd.
func (c *Context) Close() {
	linuxaio.Destroy(c.ctx)
	unix.Close(c.evfd)
}
