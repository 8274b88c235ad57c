//go:build linux

package kickrace

import (
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/waitq"
)

// This file and rc3.go, v2614.go render Linux's fs/aio.c retry path in Go,
// function by function, with the kernel's names: what the two versions
// share is here. Every access that the kernel makes without ctx_lock to
// state another CPU changes (the atomic ki_flags bits, the unlocked
// list_empty of the wait entry) is an explicit yield point, labelled with
// the kernel statement, so that the explorer can interleave it.

// runListState is ki_run_list: INIT_LIST_HEAD (empty), on ctx->run_list,
// or poisoned to NULL while an iteration runs ("running").
type runListState uint8

const (
	rlEmpty runListState = iota
	rlQueued
	rlRunning
)

// kioctx is struct kioctx, reduced to what the kick path uses.
type kioctx struct {
	w       *World
	ctxLock lock.Mutex
	// guarded by ctxLock:
	runList    []*kiocb
	dead       bool
	reqsActive int
	iocbs      []*kiocb
	// wait_for_all_aios sleeps here.
	wait lock.Note
	// the version's aio_run_iocb and kick_iocb
	runIocb  func(c *kioctx, io *kiocb) (ret int64)
	kickIocb func(c *kioctx, io *kiocb)
}

// kiocb is struct kiocb, reduced likewise.
type kiocb struct {
	c       *kioctx
	i       int
	kiWait  waitq.Entry // ki_wait; aio_wake_function is its callback
	runList runListState
	// ki_flags: KIF_KICKED and KIF_CANCELLED, atomic bit operations.
	kicked, cancelled bool
	sync              bool      // is_sync_kiocb
	tsk               lock.Note // ki_obj.tsk of a sync kiocb: wake_up_process
	// runs counts iterations (aio_run_iocb calls). kickedAt is runs when
	// a waker won kiocbTryKick: if another iteration starts before that
	// waker queues the iocb, the runner already queued it for that kick
	// (RFC race (2)).
	runs, kickedAt int
}

// -EIOCBRETRY.
const eiocbretry = -529

func newKioctx(w *World) *kioctx {
	c := &kioctx{w: w}
	c.ctxLock.SetSched(w.X)
	w.X.Name(&c.ctxLock, "ctx_lock")
	c.wait.Init()
	c.wait.SetSched(w.X)
	w.X.Name(&c.wait, "io_destroy")
	for i, r := range w.Reqs {
		io := &kiocb{c: c, i: i, sync: r.Sync, kickedAt: -1}
		io.kiWait.W = io
		io.tsk.Init()
		io.tsk.SetSched(w.X)
		c.reqsActive++
		c.iocbs = append(c.iocbs, io)
	}
	return c
}

// x is the explorer, for yield points.
func (c *kioctx) yield(label string) { c.w.X.Yield(label) }

// addWaitQueue is the retry method's add_wait_queue(q, current->io_wait).
func (c *kioctx) addWaitQueue(io *kiocb, q *waitq.Queue) bool {
	q.Mu.Lock()
	q.AddLocked(&io.kiWait)
	q.Mu.Unlock()
	return true
}

// removeWaitQueue is remove_wait_queue: the kernel's list_del of the entry
// under the queue's lock (a no-op here if a waker already unlinked it).
func (c *kioctx) removeWaitQueue(io *kiocb, q *waitq.Queue) {
	q.Mu.Lock()
	if io.kiWait.Queue() == q {
		q.RemoveLocked(&io.kiWait)
	}
	q.Mu.Unlock()
}

// retry calls the request's scripted ki_retry.
func (c *kioctx) retry(io *kiocb) int64 {
	res, wait := c.w.Retry(io.i,
		func(q *waitq.Queue) bool { return c.addWaitQueue(io, q) },
		func(q *waitq.Queue) { c.removeWaitQueue(io, q) })
	if wait {
		return eiocbretry
	}
	return res
}

// Wake is aio_wake_function, called by wake_up with the queue's lock held.
func (io *kiocb) Wake(q *waitq.Queue, e *waitq.Entry, mask uint32) {
	c := io.c
	c.yield("list_del_init(&wait->task_list)")
	q.RemoveLocked(e)
	c.kickIocb(c, io)
}

// queueKickedIocbLocked is __queue_kicked_iocb: hold ctx_lock.
func (c *kioctx) queueKickedIocbLocked(io *kiocb) bool {
	if io.runList != rlEmpty {
		return false
	}
	c.runList = append(c.runList, io)
	io.runList = rlQueued
	return true
}

// aioQueueWork is aio_queue_work: schedule the kick handler.
func (c *kioctx) aioQueueWork() { c.w.Worker.Wakeup() }

// aioComplete is aio_complete.
func (c *kioctx) aioComplete(io *kiocb, res int64) {
	if io.sync {
		// iocb->ki_user_data = res; the task is current: nothing to wake.
		c.w.Complete(io.i, res, 0)
		return
	}
	c.ctxLock.Lock()
	if io.runList == rlQueued {
		c.removeRunListLocked(io)
	}
	c.w.Complete(io.i, res, 0) // the event goes into the ring; the last put frees the iocb
	c.reqsActive--
	wake := c.dead && c.reqsActive == 0
	c.ctxLock.Unlock()
	if wake {
		c.wait.Wakeup()
	}
}

func (c *kioctx) removeRunListLocked(io *kiocb) {
	for j, x := range c.runList {
		if x == io {
			c.runList = append(c.runList[:j], c.runList[j+1:]...)
			break
		}
	}
	io.runList = rlEmpty
}

// runIocbsLocked is __aio_run_iocbs for one iocb: take the head of the run
// list (list_del) and run it. Hold ctx_lock.
func (c *kioctx) runOneLocked() bool {
	if len(c.runList) == 0 {
		return false
	}
	io := c.runList[0]
	c.runList = c.runList[1:]
	io.runList = rlRunning
	c.runIocb(c, io)
	return true
}

// Submit is io_submit: io_submit_one for each iocb, which runs the first
// iteration, then drains the run list.
func (c *kioctx) Submit(is []int) {
	for _, i := range is {
		c.ctxLock.Lock()
		c.runIocb(c, c.iocbs[i])
		for c.runOneLocked() {
		}
		c.ctxLock.Unlock()
	}
}

// workOnce is aio_kick_handler, one iocb at a time.
func (c *kioctx) workOnce() bool {
	c.ctxLock.Lock()
	ran := c.runOneLocked()
	c.ctxLock.Unlock()
	return ran
}

// Worker is the kick handler's work item, scheduled by aio_queue_work.
func (c *kioctx) Worker() {
	for {
		if !c.workOnce() {
			c.w.Worker.Sleep()
		}
	}
}

// Wake is wake_up on queue q: aio_wake_function of each entry.
func (c *kioctx) Wake(q int) { c.w.Queues[q].Wake(0, 0) }

// Taken: the renderings' iocbs are active from the start.
func (c *kioctx) Taken(i int) bool { return true }

// Reap: the renderings have no reapers.
func (c *kioctx) Reap() bool { return false }

// Final: what the renderings keep is checked between steps.
func (c *kioctx) Final() error { return nil }

// Cancel is io_cancel. A retry-based iocb has no ki_cancel, so nothing is
// done: -EAGAIN (the request ends when its wait is woken).
func (c *kioctx) Cancel(i int) {
	c.ctxLock.Lock()
	_ = c.iocbs[i] // lookup_kiocb finds it; kiocb->ki_cancel is NULL
	c.ctxLock.Unlock()
}

// Destroy is io_destroy: aio_cancel_all (mark dead, set KIF_CANCELLED on
// every active iocb; none has a ki_cancel) then wait_for_all_aios.
func (c *kioctx) Destroy() {
	c.ctxLock.Lock()
	c.dead = true
	for i, io := range c.iocbs {
		if c.w.Reqs[i].Completions == 0 {
			io.cancelled = true
		}
	}
	for c.reqsActive > 0 {
		c.ctxLock.Unlock()
		c.wait.Sleep()
		c.ctxLock.Lock()
	}
	c.ctxLock.Unlock()
}

// Do is a sync kiocb's retry loop (do_sync_read with
// wait_on_retry_sync_kiocb), on the calling task.
func (c *kioctx) Do(i int) {
	io := c.iocbs[i]
	var ret int64
	for {
		ret = c.retry(io)
		if ret != eiocbretry {
			break
		}
		// wait_on_retry_sync_kiocb
		c.yield("set_current_state(TASK_UNINTERRUPTIBLE)")
		io.tsk.SetPending(false)
		c.yield("kiocbIsKicked(iocb)")
		if !io.kicked {
			io.tsk.Sleep() // schedule()
		} else {
			io.kicked = false // kiocbClearKicked
		}
	}
	c.aioComplete(io, ret)
	c.w.Reqs[i].Freed = true // do_sync_read returns: the kiocb was on its stack
}

func (c *kioctx) State(i int) State {
	io := c.iocbs[i]
	return State{Linked: io.kiWait.Queue() != nil, Queued: io.runList == rlQueued}
}

func (c *kioctx) RunList() []int {
	var out []int
	for _, io := range c.runList {
		out = append(out, io.i)
	}
	return out
}

// OffloadWorker: the kernel has no offload workers; the blocking work is
// the device's, and its completion wakes the wait queue the retry waits on.
func (c *kioctx) OffloadWorker(q int) {
	wq := c.w.Queues[q]
	c.w.X.WaitUntil("work on "+QueueName(q), func() bool { return wq.LenLocked() > 0 })
	c.w.Fire(q)
	c.yield("the I/O completes")
	wq.Wake(0, 0)
}

func (c *kioctx) Note(i int) *lock.Note {
	if !c.iocbs[i].sync {
		return nil
	}
	return &c.iocbs[i].tsk
}

// kickSync is the sync branch of kick_iocb, the same in both versions:
// kiocbSetKicked, then wake_up_process(iocb->ki_obj.tsk).
func (c *kioctx) kickSync(io *kiocb) {
	c.yield("kiocbSetKicked(iocb)")
	c.touchSync(io, "kiocbSetKicked(iocb)")
	io.kicked = true
	c.yield("wake_up_process(iocb->ki_obj.tsk)")
	c.touchSync(io, "wake_up_process(iocb->ki_obj.tsk)")
	io.tsk.Wakeup()
}

// touchSync is a waker's access to a sync kiocb, which lives on its
// caller's stack: gone once the caller returned.
func (c *kioctx) touchSync(io *kiocb, what string) {
	if c.w.Reqs[io.i].Freed {
		c.w.X.Failf("1a-sync", "%s: the sync kiocb's caller already returned (its stack frame is gone)", what)
	}
}
