//go:build linux

package kickrace

// V2614 is the kick path Linux 2.6.14 merged instead of the RFC's patch:
// kiocbTryKick and the queueing in one ctx_lock critical section
// (try_queue_kicked_iocb), and no unlocked self-kick: a retry method loops
// over partial progress, and -EIOCBRETRY means exactly one future
// kick_iocb. The waker still unlinks its wait entry before taking
// ctx_lock.
var V2614 = &Protocol{
	Name:     "2.6.14",
	Doc:      "Linux 2.6.14 fs/aio.c, what was merged",
	SelfKick: false,
	New: func(w *World) System {
		c := newKioctx(w)
		c.runIocb = runIocb2614
		c.kickIocb = kickIocb2614
		return c
	},
}

// runIocb2614 is 2.6.14's aio_run_iocb: entered and left with ctx_lock
// held.
func runIocb2614(c *kioctx, io *kiocb) int64 {
	c.yield("kiocbClearKicked(iocb)")
	io.kicked = false
	io.runs++
	io.runList = rlRunning
	c.ctxLock.Unlock()

	var ret int64
	c.yield("kiocbIsCancelled(iocb)")
	if io.cancelled {
		ret = errIntr
		c.aioComplete(io, ret)
	} else {
		ret = c.retry(io)
		if ret != eiocbretry {
			c.aioComplete(io, ret)
		}
	}
	c.ctxLock.Lock()
	if ret == eiocbretry {
		io.runList = rlEmpty // INIT_LIST_HEAD
		c.yield("kiocbIsKicked(iocb)")
		if io.kicked {
			c.queueKickedIocbLocked(io)
			c.aioQueueWork()
		}
	}
	return ret
}

// kickIocb2614 is 2.6.14's kick_iocb.
func kickIocb2614(c *kioctx, io *kiocb) {
	if io.sync {
		c.kickSync(io)
		return
	}
	tryQueueKickedIocb(c, io)
}

// tryQueueKickedIocb is 2.6.14's try_queue_kicked_iocb.
func tryQueueKickedIocb(c *kioctx, io *kiocb) {
	// We're supposed to be the only path putting the iocb back on the run
	// list. If we find that the iocb is *back* on a wait queue already
	// then retry has happened before we could queue the iocb.
	c.yield("BUG_ON(!list_empty(&iocb->ki_wait.task_list))")
	c.w.Touch(io.i, "try_queue_kicked_iocb")
	if io.kiWait.Queue() != nil {
		c.w.X.Fail("1b", "BUG_ON(!list_empty(&iocb->ki_wait.task_list)) in try_queue_kicked_iocb")
	}
	c.ctxLock.Lock()
	// set this inside the lock so that we can't race with aio_run_iocb()
	// testing it and putting the iocb on the run list under the lock
	c.yield("kiocbTryKick(iocb)")
	was := io.kicked
	io.kicked = true
	run := false
	if !was {
		run = c.queueKickedIocbLocked(io)
	}
	c.ctxLock.Unlock()
	if run {
		c.aioQueueWork()
	}
}
