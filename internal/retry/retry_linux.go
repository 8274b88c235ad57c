package retry

import (
	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/poller"
	"golang.org/x/sys/unix"
)

// Retry implements kick.Ops: the retry methods (the kernel's ki_retry). It
// runs with the request marked running and no lock held.
func (c *Context) Retry(kr *kick.Req) (int64, bool) {
	r := kr.Owner.(*request)
	if r.attempts > 0 {
		if r.retryCounted {
			r.retryCounted = false // by completeAIO, in its critical section
		} else {
			c.k.Mu.Lock()
			c.stats.Retries++
			c.k.Mu.Unlock()
		}
	}
	r.attempts++
	if c.x != nil {
		return c.x.Retry(r)
	}
	switch r.path {
	case pathNone:
		return 0, false
	case pathSync:
		if r.viaAIO {
			if res, done := c.fromKernel(r); done {
				return res, false
			}
			return c.offload(r) // refused by the kernel
		}
		if r.hasWres {
			r.hasWres = false
			return r.wres, false
		}
		if r.attempts == 1 {
			return c.toKernel(r)
		}
		return c.offload(r)
	case pathReady:
		return c.retryPoll(r)
	case pathBlocking:
		return c.retryBlocking(r)
	}
	if r.viaAIO {
		if res, done := c.fromKernel(r); done {
			return res, false
		}
		return c.offload(r) // refused by the kernel
	}
	if r.hasWres {
		r.hasWres = false
		if res, done := r.account(r.wres); done {
			return res, false
		}
	}
	if r.left == 0 {
		return r.done, false
	}
	switch r.path {
	case pathDirect:
		if r.attempts == 1 {
			return c.toKernel(r)
		}
		return c.offload(r)
	case pathPoll:
		return c.retryStream(r)
	}
	return c.retryFile(r)
}

// account adds a transfer's result to r's progress and says whether r is
// finished, and with what result.
func (r *request) account(n int64) (int64, bool) {
	switch {
	case n < 0:
		if r.done > 0 {
			return r.done, true
		}
		return n, true
	case n == 0 && r.left > 0:
		return r.done, true // EOF (or a zero-length write, as write(2) allows)
	case n == r.left:
		r.done += n // all of it, the common case: no iovec to adjust
		r.left = 0
		return r.done, true
	}
	r.advance(n)
	if r.left == 0 {
		return r.done, true
	}
	return 0, false
}

func (r *request) attempt(flags int) (int, unix.Errno) {
	if r.op.Reads() {
		return preadv2(r.fd, r.iov, r.off(), flags, r.left)
	}
	return pwritev2(r.fd, r.iov, r.off(), flags, r.left)
}

// retryFile is the regular-file retry: RWF_NOWAIT attempts until done, a
// short transfer, or EAGAIN, which hands the rest to the offload workers.
func (c *Context) retryFile(r *request) (int64, bool) {
	if !r.nowait {
		if r.userWait {
			// The file refused RWF_NOWAIT before: the caller gets what
			// a preadv2/pwritev2 with it would say.
			return -int64(unix.EOPNOTSUPP), false
		}
		return c.offload(r)
	}
	if r.missed { // the batch's attempt (attemptBatch)
		r.missed = false
		if r.userWait {
			return r.failed(unix.EAGAIN), false
		}
		return c.offload(r)
	}
	for {
		n, e := r.attempt(r.rwflags | unix.RWF_NOWAIT)
		switch e {
		case 0:
			if res, done := r.account(int64(n)); done {
				return res, false
			}
			// A short transfer: the cached part. The rest may need I/O:
			// return progress without a wait, the runner kicks itself.
			if e := r.hold(); e != 0 {
				return r.failed(e), false
			}
			return 0, true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if r.userWait {
				return r.failed(e), false
			}
			return c.offload(r)
		case unix.EOPNOTSUPP, unix.EPERM:
			// This file refuses RWF_NOWAIT (ext4's buffered writes do):
			// remember it for the file, and block in a worker instead.
			c.k.Mu.Lock()
			if c.nowaitNo == nil {
				c.nowaitNo = make(map[devIno]uint8)
			}
			if len(c.nowaitNo) > 4096 {
				clear(c.nowaitNo)
			}
			c.nowaitNo[r.devino] |= dirBit(r.op)
			c.k.Mu.Unlock()
			r.nowait = false
			if r.userWait {
				return r.failed(e), false
			}
			return c.offload(r)
		default:
			return r.failed(e), false
		}
	}
}

// failed is the result of an error after r.done bytes.
func (r *request) failed(e unix.Errno) int64 {
	if r.done > 0 {
		return r.done
	}
	return -int64(e)
}

// retryStream is the retry of a pipe, socket or other pollable fd.
func (c *Context) retryStream(r *request) (int64, bool) {
	flags := r.rwflags
	if r.nowait {
		flags |= unix.RWF_NOWAIT
	}
	for {
		fd := r.fd
		var n int
		var e unix.Errno
		if r.op.Reads() {
			n, e = preadv2(fd, r.iov, -1, flags, r.left)
		} else {
			n, e = pwritev2(fd, r.iov, -1, flags, r.left)
		}
		switch e {
		case 0:
			if r.op.Reads() || n == 0 {
				r.advance(int64(n))
				return r.done, false // a read returns what the stream had
			}
			if res, done := r.account(int64(n)); done {
				return res, false
			}
			continue // a write goes on until all is written
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP:
			if flags&unix.RWF_NOWAIT != 0 && !r.userWait {
				// RWF_NOWAIT not supported on this file: fine if the
				// fd is non-blocking; otherwise block in a worker.
				var fl int
				fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
				if err == nil && fl&unix.O_NONBLOCK != 0 {
					flags &^= unix.RWF_NOWAIT
					r.nowait = false
					continue
				}
				r.path = pathBlocking
				return c.retryBlocking(r)
			}
			return r.failed(e), false
		case unix.EAGAIN:
			if r.userWait {
				return r.failed(e), false
			}
			mask := uint32(unix.EPOLLIN)
			if r.op.Writes() {
				mask = unix.EPOLLOUT
			}
			return c.waitReady(r, mask)
		default:
			return r.failed(e), false
		}
	}
}

// retryBlocking is the retry of a blocking fd that refuses RWF_NOWAIT (a
// tty, say): first a wait on the poller until the fd is ready, which Cancel
// and Destroy can end; then an offload worker makes the blocking call, which
// readiness makes return at once (unless another reader took the data in
// between: then the worker blocks until more comes, and Cancel says EAGAIN).
func (c *Context) retryBlocking(r *request) (int64, bool) {
	if r.hasWres {
		r.hasWres = false
		n := r.wres
		switch {
		case n < 0:
			return r.failed(unix.Errno(-n)), false
		case r.op.Reads() || n == 0:
			r.advance(n)
			return r.done, false // a read returns what the stream had
		}
		if res, done := r.account(n); done {
			return res, false
		}
	}
	if !r.ready {
		r.ready = true
		mask := uint32(unix.EPOLLIN)
		if r.op.Writes() {
			mask = unix.EPOLLOUT
		}
		return c.waitReady(r, mask)
	}
	r.ready = false
	return c.offload(r)
}

// retryPoll is IOCB_CMD_POLL: complete with the revents that match, or wait.
func (c *Context) retryPoll(r *request) (int64, bool) {
	want := int16(r.events) | unix.POLLERR | unix.POLLHUP | unix.POLLNVAL
	pfd := [1]unix.PollFd{{Fd: int32(r.fd), Events: int16(r.events)}}
	for {
		_, err := unix.Poll(pfd[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -int64(err.(unix.Errno)), false
		}
		break
	}
	seen := int16(r.wakeMask)
	r.wakeMask = 0
	if rev := (pfd[0].Revents | seen) & want; rev != 0 {
		return int64(uint16(rev)), false
	}
	return c.waitReady(r, r.events)
}

// waitReady links r's wait entry on its poller registration and arms it.
func (c *Context) waitReady(r *request, mask uint32) (int64, bool) {
	if e := r.hold(); e != 0 {
		return r.failed(e), false
	}
	if r.reg == nil {
		p, err := c.poller()
		if err != nil {
			return r.failed(err.(unix.Errno)), false
		}
		r.reg = p.Register(r.fd)
	}
	if !c.k.LinkWait(&r.k, &r.reg.Q, mask) {
		return -int64(unix.ECANCELED), false
	}
	if err := c.poll.Arm(r.reg, mask); err != nil {
		// Not pollable (EPERM) or gone: no wake-up will come, so take the
		// entry back; if a wake-up kicked it already, that kick is
		// consumed by this iteration's result.
		c.k.Unlink(&r.k)
		return r.failed(err.(unix.Errno)), false
	}
	return 0, true
}

// poller returns the context's poller, starting it on first use.
func (c *Context) poller() (*poller.Poller, error) {
	c.k.Mu.Lock()
	defer c.k.Mu.Unlock()
	if c.poll == nil {
		p, err := poller.New(c.pollBatch)
		if err != nil {
			return nil, err
		}
		c.poll = p
	}
	return c.poll, nil
}

// offload links r on the offload queue: a worker will do the blocking
// syscall and kick r.
func (c *Context) offload(r *request) (int64, bool) {
	if r.deferrable() {
		return c.deferWrite(r)
	}
	if e := r.hold(); e != 0 {
		return r.failed(e), false
	}
	c.k.Mu.Lock()
	c.stats.Offloaded++
	// Start workers as work comes, up to the bound; a ring of nr slots
	// (plus a Do) never has more blocking calls than that to make at once.
	if c.offStarts < c.workers && c.offStarts < c.nr+1 {
		c.offStarts++
		c.goLocked(c.offloadWorker)
	}
	c.k.Mu.Unlock()
	if !c.k.LinkWait(&r.k, &c.offq, 0) {
		return -int64(unix.ECANCELED), false
	}
	// A write to the file a worker is making a batch of writes to is that
	// worker's to take: it looks at the queue again when its batch is
	// done (offBusy is cleared before). Any other wakes a worker; only a
	// write that may be batched needs the look at offBusy.
	theirs := false
	if r.writeBatchable() {
		c.offq.Mu.Lock()
		theirs = c.offBusy && r.devino == c.offBusyDev
		c.offq.Mu.Unlock()
	}
	if !theirs {
		c.offNote.Wakeup() // if a token is pending, a worker will look at the queue
	}
	return 0, true
}

// offloadWorker takes requests off the offload queue, does their blocking
// syscall, and kicks them (its completion is the wake).
func (c *Context) offloadWorker() {
	for {
		c.offNote.Sleep()
		if c.stoppingNow() {
			c.offNote.Wakeup() // the next worker leaves too
			return
		}
		for {
			c.offq.Mu.Lock()
			e := c.firstOffloadLocked()
			if e == nil {
				c.offq.Mu.Unlock()
				break
			}
			r := e.W.(*request)
			next := e.NextLocked()
			c.k.TakeOffloadLocked(&c.offq, &r.k)
			var group [offBatchMax]*request
			n, b := c.takeWritesLocked(r, next, &group)
			more := c.firstOffloadLocked() != nil
			c.offq.Mu.Unlock()
			if more { // pass the baton: another worker may start on the rest
				c.offNote.Wakeup()
			}
			took := 0
			if n > 1 {
				took = c.blockingWrites(b, group[:n])
			} else {
				r.wres = c.blocking(r)
				r.hasWres = true
			}
			c.finishGroup(group[:n], took)
		}
	}
}

// finishGroup kicks group, whose syscalls an offload worker or a
// GetEvents made (took of them in one batch), and runs here what that
// queued, rather than hand it to a kick worker: the retry that consumes
// the result does not block, and a hand-off costs more than it. One
// critical section kicks the whole group (and counts deferred writes out
// of deferN) and takes the run list, as kickBatch does.
func (c *Context) finishGroup(group []*request, took int) {
	var kb kickBatch
	c.k.Mu.Lock()
	c.stats.Batched += uint64(took)
	for _, w := range group {
		if w.deferred {
			w.deferred = false
			c.deferN--
		}
		c.kickDoneLocked(&kb, w)
	}
	if !c.sabotaged(func(s *Sabotage) bool { return s.WorkerDropsKick }) {
		c.takeRunLocked(&kb)
	}
	c.k.Mu.Unlock()
	c.runTaken(&kb)
}

// blocking is the syscall an offload worker makes for r (the explorer's
// script under the schedule explorer).
func (c *Context) blocking(r *request) int64 {
	if c.x != nil {
		return c.x.Blocking(r)
	}
	for {
		var n int
		var e unix.Errno
		switch r.op {
		case core.OpFSync:
			e = errno(unix.Fsync(r.fd))
		case core.OpFDSync:
			e = errno(unix.Fdatasync(r.fd))
		default:
			// The caller's RWF_NOWAIT goes with the call: on O_DIRECT
			// it makes the kernel answer EAGAIN instead of writing back
			// a dirty range first, as a plain preadv2 does.
			flags := r.rwflags
			if r.userWait {
				flags |= unix.RWF_NOWAIT
			}
			n, e = r.attempt(flags)
		}
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -int64(e)
		}
		return int64(n)
	}
}

func errno(err error) unix.Errno {
	if err == nil {
		return 0
	}
	return err.(unix.Errno)
}
