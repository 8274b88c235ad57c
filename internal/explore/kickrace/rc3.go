//go:build linux

package kickrace

// RC3 is the kick path of Linux 2.6.13-rc3, the RFC's "before": the waker
// unlinks its wait entry (under the wait queue's lock only), then sets
// KIF_KICKED with an atomic test-and-set outside ctx_lock, then queues the
// iocb under ctx_lock; the runner checks list_empty(&ki_wait) without the
// lock after a retry returned -EIOCBRETRY and kicks itself if it is empty.
var RC3 = &Protocol{
	Name:     "rc3",
	Doc:      "Linux 2.6.13-rc3 fs/aio.c, the kick path the RFC was written against",
	SelfKick: true,
	New: func(w *World) System {
		c := newKioctx(w)
		c.runIocb = runIocbRC3
		c.kickIocb = kickIocbRC3
		return c
	},
}

// runIocbRC3 is 2.6.13-rc3's aio_run_iocb: entered and left with ctx_lock
// held.
func runIocbRC3(c *kioctx, io *kiocb) int64 {
	c.yield("kiocbClearKicked(iocb)")
	io.kicked = false
	io.runs++
	io.runList = rlRunning // ki_run_list.next = prev = NULL
	c.ctxLock.Unlock()

	var ret int64
	c.yield("kiocbIsCancelled(iocb)")
	if io.cancelled {
		ret = errIntr
		c.aioComplete(io, ret)
		// must not access the iocb after this
	} else {
		ret = c.retry(io)
		if ret != eiocbretry {
			c.aioComplete(io, ret)
			// must not access the iocb after this
		} else {
			// Issue an additional retry to avoid waiting forever if no
			// waits were queued (e.g. in case of a short read).
			c.yield("list_empty(&iocb->ki_wait.task_list)")
			if io.kiWait.Queue() == nil {
				c.w.X.Note("→ empty")
				c.yield("kiocbSetKicked(iocb)")
				io.kicked = true
			}
		}
	}
	c.ctxLock.Lock()
	if ret == eiocbretry {
		io.runList = rlEmpty // INIT_LIST_HEAD: __queue_kicked_iocb succeeds from here on
		c.yield("kiocbIsKicked(iocb)")
		if io.kicked {
			c.queueKickedIocbLocked(io) // we must queue the next iteration ourselves
			c.aioQueueWork()
		}
	}
	return ret
}

// kickIocbRC3 is 2.6.13-rc3's kick_iocb, called by aio_wake_function after
// list_del_init.
func kickIocbRC3(c *kioctx, io *kiocb) {
	if io.sync {
		c.kickSync(io)
		return
	}
	// If it's already kicked we shouldn't queue it again.
	c.yield("kiocbTryKick(iocb)")
	c.w.Touch(io.i, "kiocbTryKick(iocb)")
	was := io.kicked
	io.kicked = true
	if was {
		c.w.X.Note("→ 1: already kicked")
		return
	}
	c.w.X.Note("→ 0: we queue it")
	io.kickedAt = io.runs
	queueKickedIocbRC3(c, io)
}

// queueKickedIocbRC3 is 2.6.13-rc3's queue_kicked_iocb.
func queueKickedIocbRC3(c *kioctx, io *kiocb) {
	c.yield("WARN_ON(!list_empty(&iocb->ki_wait.task_list))")
	secondQueue(c, io, "queue_kicked_iocb")
	c.w.Touch(io.i, "queue_kicked_iocb")
	if io.kiWait.Queue() != nil {
		c.w.X.Fail("1b", "WARN_ON(!list_empty(&iocb->ki_wait.task_list)) in queue_kicked_iocb: the iocb waits on a new wait")
	}
	c.ctxLock.Lock() // through iocb->ki_ctx
	run := c.queueKickedIocbLocked(io)
	c.ctxLock.Unlock()
	if run {
		c.aioQueueWork()
	}
}

// secondQueue fails with (2) when a waker that won kiocbTryKick goes on to
// queue an iocb that an iteration started since: the runner saw that
// KIF_KICKED and queued the iocb for this very kick, and it ran.
func secondQueue(c *kioctx, io *kiocb, where string) {
	if io.runs == io.kickedAt {
		return
	}
	switch {
	case c.w.Reqs[io.i].Freed:
		c.w.X.Fail("2", where+" of an iocb its runner already queued for this kick, and which completed since (freed memory)")
	case io.kiWait.Queue() != nil:
		c.w.X.Fail("2", where+" of an iocb its runner already queued for this kick, and which waits on a new wait")
	case io.runList == rlEmpty:
		c.w.X.Fail("2", where+" queues again an iocb its runner already queued and ran for this kick")
	}
}
