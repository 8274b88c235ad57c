package retry

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"github.com/kaio-go/kaio/internal/lock"
	"golang.org/x/sys/unix"
)

// This file is Linux 2.6's split, which the retry engine follows: O_DIRECT
// reads and writes are asynchronous in the kernel, so they go to Linux AIO
// with the request's own iocb, and the kernel's completion is the wake
// that kicks the request (kick.HandOffLocked, then kick.Kick or KickLocked when it completes);
// fsync and fdatasync go there too (the kernel runs them in a workqueue
// since 4.18). Buffered I/O keeps the retry path. Where Linux AIO is
// refused (ENOSYS, EPERM from a seccomp filter, EAGAIN at fs.aio-max-nr),
// these requests go to the offload workers as before.
//
// The kernel takes its own reference to the request's file at io_submit,
// which happens inside Submit (or Do): such a request owns its file
// without a duplicate of the fd. A short transfer ends the request with
// what the kernel moved (EOF, or an error past some progress), as
// io_submit's result does; it is not continued, which would need the fd
// again.
//
// Completions come through the AIO context's ring, which the kernel
// signals on an eventfd (IOCB_FLAG_RESFD); the reaper goroutine waits for
// that eventfd in a blocking read(2), reaps the ring in user space, kicks
// the requests and runs them itself, taking in each batch with two
// critical sections (completeAIO).
//
// The reaper holds a thread while it waits, one per context that has used
// Linux AIO, rather than waiting in the Go poller: the kernel signals the
// eventfd once per completion, and through the poller each signal woke an
// idle thread out of epoll_wait to run the scheduler and hand the reaper a
// processor, where a blocking read wakes the reaper's own thread alone
// (a fifth less CPU per 4 KiB O_DIRECT read at depth 32 on the loop
// device of docs/performance.md).
//
// Better still is no hand-off: a GetEvents that has to wait while every
// request in flight is in the kernel waits in io_getevents itself, which
// the kernel (6.8 and later) wakes once for all the events it asked for,
// and takes them in on its own goroutine (waitKernel). ringMu makes the
// two takers take turns at the ring; while GetEvents callers take the
// completions the reaper keeps off the eventfd and naps.

// aioQueue is a retry context's Linux AIO context.
type aioQueue struct {
	ctx  linuxaio.Context
	ring linuxaio.Ring // the mapped completion ring, when its layout is known
	evfd int           // the eventfd every iocb signals; blocking: the reaper sleeps in read(2)

	// kios are the iocbs of the ring's requests (Do's have their own),
	// one heap object pinned once, from setup to Destroy: a request
	// pins only its buffers.
	kios []linuxaio.Iocb
	pin  runtime.Pinner

	// Guarded by Context.k.Mu: iocbs waiting for the submitter's flush,
	// in the order their requests were submitted (a sequential stream
	// reaches the block layer in order), and how many iocbs the kernel
	// accepted whose completion has not been taken in yet.
	pending    *request
	pendingEnd **request // &pending, or the last one's nextAIO: where the next goes
	inKernel   int
	// queued is pending != nil, written under Context.k.Mu and read
	// without it by flushAIO's first look: a caller that queued an iocb
	// sees its own store; one that queued nothing skips the lock.
	queued atomic.Bool

	// ringMu is held by whoever takes completions off the kernel's ring:
	// the reaper, reading the mapped ring, or a GetEvents that waits in
	// io_getevents itself (waitKernel). The kernel's io_getevents and a
	// user-space reader must not move the ring's head at once.
	ringMu sync.Mutex
	// noFsync: the kernel refused fsync (before 4.18).
	noFsync atomic.Bool
	// stop tells the reaper to leave (Destroy), with a signal of evfd.
	stop atomic.Bool

	// kwaits counts waitKernel's waits. While it moves, GetEvents callers
	// take the completions in, and the reaper stays off the eventfd
	// (which would wake it once per completion for nothing): it sleeps on
	// wake, for at most reaperNap at a time. wake is a token: whoever needs
	// the reaper at once (a GetEvents that sleeps on its note, a Do,
	// Destroy) leaves one (wakeReaper).
	kwaits atomic.Uint64
	wake   lock.Note

	// The reaper's: io_getevents' buffer when the ring is not mapped,
	// and the eventfd's read buffer.
	evs [64]linuxaio.Event
	buf [8]byte
}

// aioOff is what Context.aio holds when Linux AIO was tried and refused.
var aioOff = new(aioQueue)

// kernelQueue returns the context's Linux AIO queue, setting it up (and
// starting its reaper) on first use, or nil when Linux AIO is not usable
// here. c.aio is set once, under k.Mu; after that a load is all it takes.
func (c *Context) kernelQueue() *aioQueue {
	q := c.aio.Load()
	if q == nil {
		c.k.Mu.Lock()
		if q = c.aio.Load(); q == nil {
			q = aioOff
			if !c.noAIO {
				if nq, err := newAIOQueue(c.nr+syncAIOSlots, len(c.reqs)); err == nil {
					q = nq
					c.goLocked(func() { c.aioReaper(nq) })
				}
			}
			c.aio.Store(q)
		}
		c.k.Mu.Unlock()
	}
	if q == aioOff {
		return nil
	}
	return q
}

// syncAIOSlots is how many kernel slots are kept beyond nrEvents for Do.
const syncAIOSlots = 64

func newAIOQueue(nr, reqs int) (*aioQueue, error) {
	ctx, hdr, err := linuxaio.Setup(nr)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		linuxaio.Destroy(ctx)
		return nil, err
	}
	q := &aioQueue{ctx: ctx, evfd: efd}
	q.pendingEnd = &q.pending
	q.wake.Init()
	q.ring.Map(hdr) // else reap uses io_getevents
	q.kios = make([]linuxaio.Iocb, reqs)
	q.pin.Pin(&q.kios[0])
	return q, nil
}

// toKernel is the retry of an O_DIRECT read or write or an fsync where
// Linux AIO is usable: r's iocb is prepared and queued for the
// submitter's flush (flushAIO), and r waits for the kernel's completion.
// It falls back to the offload workers when the kernel is not usable or
// refused r before.
func (c *Context) toKernel(r *request) (int64, bool) {
	q := c.kernelQueue()
	if q == nil || r.op.Syncs() && q.noFsync.Load() {
		return c.offload(r)
	}
	if e := r.holdResFd(); e != 0 {
		return r.failed(e), false
	}
	r.prepAIO(q)
	c.k.Mu.Lock() // one critical section: the hand-off and the queueing
	if !c.k.HandOffLocked(&r.k) {
		c.k.Mu.Unlock()
		r.pin.Unpin()
		return -int64(unix.ECANCELED), false
	}
	r.viaAIO = true
	c.stats.LinuxAIO++
	r.nextAIO = nil
	*q.pendingEnd = r
	q.pendingEnd = &r.nextAIO
	q.queued.Store(true)
	c.k.Mu.Unlock()
	return 0, true
}

// prepAIO fills r's iocb for its op and pins what the kernel will read or
// write: the buffers and the iovec array (and a Do request's iocb), from
// io_submit to the reaper. One buffer goes as IOCB_CMD_PREAD/PWRITE, so
// that no iovec array is pinned.
func (r *request) prepAIO(q *aioQueue) {
	if r.kio == nil {
		if r.sync {
			r.kio = new(linuxaio.Iocb) // a heap object of its own, pinned alone
		} else {
			r.kio = &q.kios[r.aioIndex] // pinned with the queue
		}
	}
	k := r.kio
	*k = linuxaio.Iocb{Data: uint64(r.aioIndex), Fildes: uint32(r.fd), Flags: linuxaio.FlagResFd, Resfd: uint32(q.evfd)}
	if r.sync {
		r.pin.Pin(k)
	}
	switch r.op {
	case core.OpFSync:
		k.LioOpcode = linuxaio.CmdFSync
		return
	case core.OpFDSync:
		k.LioOpcode = linuxaio.CmdFDSync
		return
	}
	k.RWFlags = int32(r.rwflags)
	if r.userWait {
		k.RWFlags |= unix.RWF_NOWAIT // the caller's: EAGAIN over a dirty range
	}
	k.Offset = r.pos
	for j := range r.iov {
		r.pin.Pin(r.iov[j].Base)
	}
	if len(r.iov) == 1 {
		k.LioOpcode = linuxaio.CmdPRead
		if r.op.Writes() {
			k.LioOpcode = linuxaio.CmdPWrite
		}
		k.Buf = linuxaio.IovBase(&r.iov[0])
		k.Nbytes = uint64(r.iov[0].Len)
		return
	}
	k.LioOpcode = linuxaio.CmdPReadv
	if r.op.Writes() {
		k.LioOpcode = linuxaio.CmdPWritev
	}
	if len(r.iov) > 0 {
		r.pin.Pin(&r.iov[0])
		k.Buf = linuxaio.IovPtr(r.iov)
	}
	k.Nbytes = uint64(len(r.iov))
}

// flushAIO hands the queued iocbs to the kernel with io_submit, as many a
// call as it takes. An iocb the kernel refuses kicks its request at once:
// with the errno as its result, or, for EAGAIN (the kernel context is
// full) and for an fsync the kernel cannot do asynchronously, to be done
// by the offload workers instead. Submit and Do call it after the first
// iterations of their iocbs, on the caller's goroutine: the caller's fds
// are the ones the kernel references. The queue is unlinked under
// ctx_lock, a chunk at a time: once io_submit has it, a request may
// complete and be reused before this returns.
func (c *Context) flushAIO() {
	q := c.aio.Load()
	if q == nil || q == aioOff || !q.queued.Load() {
		return // nothing queued (by this caller, at least): no lock to take
	}
	var ptrs [64]uintptr
	var reqs [64]*request
	ran := false
	taken := 0 // by the kernel, not yet in q.inKernel
	for more := true; more; {
		c.k.Mu.Lock()
		q.inKernel += taken
		taken = 0
		n := 0
		for ; q.pending != nil && n < len(ptrs); n++ {
			r := q.pending
			q.pending, r.nextAIO = r.nextAIO, nil
			ptrs[n], reqs[n] = linuxaio.Addr(r.kio), r
		}
		if q.pending == nil {
			q.pendingEnd = &q.pending
			q.queued.Store(false)
		}
		more = q.pending != nil
		c.k.Mu.Unlock()
		done := 0
		for done < n {
			k, e := linuxaio.Submit(q.ctx, ptrs[done:n])
			switch e {
			case 0:
				done += k
				taken += k
				continue
			case unix.EINTR:
				continue
			}
			// reqs[done] is refused; the kernel took none after it.
			r := reqs[done]
			switch {
			case e == unix.EAGAIN:
				r.aioRefused = true
			case e == unix.EINVAL && r.op.Syncs():
				q.noFsync.Store(true) // before 4.18: no IOCB_CMD_FSYNC
				r.aioRefused = true
			default:
				r.wres, r.hasWres = -int64(e), true
			}
			ran = c.kickHeld(r) || ran
			done++
		}
	}
	if taken > 0 {
		c.k.Mu.Lock()
		q.inKernel += taken
		c.k.Mu.Unlock()
	}
	if ran {
		c.runAll()
	}
}

// kernelWaitLocked decides whether a GetEvents that has to wait for need
// more events waits in io_getevents itself (waitKernel) rather than on
// its note for the reaper's wake-up, and if so returns the queue with
// ringMu held. It does when every request in flight is in the kernel:
// then only the kernel's completions can bring events, and the kernel
// (Linux 6.8 and later) wakes an io_getevents for min_nr events once,
// where the eventfd wakes the reaper once per completion, and the reaper
// wakes the caller. Not with a context.Context to watch (done), which a
// syscall cannot. Hold k.Mu.
func (c *Context) kernelWaitLocked(done <-chan struct{}) *aioQueue {
	q := c.aio.Load()
	if q == nil || q == aioOff || done != nil || c.inflight == 0 || c.inflight != q.inKernel || !q.ringMu.TryLock() {
		return nil
	}
	return q
}

// waitKernel is GetEvents' wait in io_getevents for min(need, the iocbs
// in the kernel) completions, until deadline (zero: none), with k.Mu
// held on entry and on return and ringMu held on entry (kernelWaitLocked).
// It takes in the completions on this goroutine, as the reaper does, and
// reports whether deadline passed. Every iocb it waits for is in the
// kernel, whose completions only the holder of ringMu takes, so the wait
// ends. While it waits, an event that another goroutine's Submit posts
// does not end it (the syscall cannot be woken); its own completions do,
// as soon as the I/O is done.
func (c *Context) waitKernel(q *aioQueue, need int, deadline time.Time) (expired bool) {
	var evs [len(aioQueue{}.evs)]linuxaio.Event
	k := min(need, q.inKernel, len(evs))
	c.k.Mu.Unlock()
	var ts *unix.Timespec
	if !deadline.IsZero() {
		t := unix.NsecToTimespec(max(int64(time.Until(deadline)), 0))
		ts = &t
	}
	q.kwaits.Add(1)
	n, _ := linuxaio.WaitEvents(q.ctx, k, evs[:], ts) // EINTR: look again
	if n > 0 {
		c.completeAIO(q, evs[:n]) // releases ringMu
	} else {
		q.ringMu.Unlock()
	}
	c.k.Mu.Lock()
	return !deadline.IsZero() && !time.Now().Before(deadline)
}

// kickHeld delivers the kick owed for r, which the kernel did not take or
// has completed, and reports whether r went onto the run list.
func (c *Context) kickHeld(r *request) bool {
	note := &r.k.Note
	a := c.k.Kick(&r.k)
	if a == kick.Queued {
		return true
	}
	kick.Finish(a, note, c)
	return false
}

// aioReaper takes in the kernel's completions: it waits for the eventfd
// (which every completion signals after writing its event), reads the
// ring, kicks each request with its result and runs what it kicked, as an
// offload worker does, until Destroy stops it.
func (c *Context) aioReaper(q *aioQueue) {
	nap := time.NewTimer(reaperNap)
	defer nap.Stop()
	seen := q.kwaits.Load()
	for {
		if k := q.kwaits.Load(); k != seen && !q.stop.Load() {
			seen = k
			nap.Reset(reaperNap)
			select {
			case <-q.wake.C():
			case <-nap.C:
			}
			continue
		}
		q.ringMu.Lock()
		if n := q.reap(); n > 0 {
			c.completeAIO(q, q.evs[:n]) // releases ringMu
			continue
		}
		q.ringMu.Unlock()
		if q.stop.Load() {
			return
		}
		_, err := unix.Read(q.evfd, q.buf[:])
		if err != nil && err != unix.EINTR {
			panic("kaio: read of the Linux AIO eventfd: " + err.Error())
		}
	}
}

// reaperNap bounds the reaper's naps while GetEvents callers wait in the
// kernel: how late a completion can be taken in once they stop calling
// GetEvents, if nobody calls wakeReaper.
const reaperNap = time.Millisecond

// wakeReaper ends the reaper's nap, or makes the next one end at once:
// someone waits for a completion that only the reaper may take in.
func (c *Context) wakeReaper() {
	if q := c.aio.Load(); q != nil && q != aioOff {
		q.wake.Wakeup()
	}
}

// stopReaper makes the reaper leave; Destroy calls it once nothing is in
// the kernel, then waits for it and calls close.
func (q *aioQueue) stopReaper() {
	q.stop.Store(true)
	q.wake.Wakeup()
	core.SignalEventfd(q.evfd)
}

// close gives back the kernel context and the eventfd, after the reaper
// left (it reads the ring).
func (q *aioQueue) close() {
	linuxaio.Destroy(q.ctx)
	unix.Close(q.evfd)
	q.pin.Unpin() // the kernel is done with the iocbs
}

// completeAIO takes in a batch of the kernel's completions as a
// kickBatch: each result is recorded (under k.Mu: the race detector does
// not see that the kernel's completion comes after the submitter's writes
// to the request) and kicked (the kernel's hold ends) in the first
// critical section, and what that queued is run here and posted in the
// second.
//
// The caller holds q.ringMu, which took evs off the ring; it is released
// once the first critical section has counted evs out of q.inKernel, so
// that a GetEvents never sees an iocb as in the kernel (and waits there
// for its event) after its completion has left the ring.
func (c *Context) completeAIO(q *aioQueue, evs []linuxaio.Event) {
	var kb kickBatch
	c.k.Mu.Lock()
	q.inKernel -= len(evs)
	for _, ev := range evs {
		r := c.aioRequestLocked(int(ev.Data))
		r.wres, r.hasWres = ev.Res, true
		c.kickDoneLocked(&kb, r)
	}
	c.takeRunLocked(&kb)
	c.k.Mu.Unlock()
	q.ringMu.Unlock()
	c.runTaken(&kb)
}

// reap moves up to len(q.evs) completions into q.evs.
func (q *aioQueue) reap() int {
	return linuxaio.Reap(q.ctx, &q.ring, q.evs[:])
}

// fromKernel takes in what Linux AIO did with r: its result, or a refusal
// that sends it to the offload workers. It reports whether r is done, and
// with what. The pins go (the kernel is done with the memory), and a short
// transfer ends r with what moved.
func (c *Context) fromKernel(r *request) (res int64, done bool) {
	r.viaAIO = false
	r.pin.Unpin()
	if r.aioRefused {
		r.aioRefused = false
		return 0, false
	}
	r.hasWres = false
	if r.wres < 0 {
		return r.failed(unix.Errno(-r.wres)), true
	}
	return r.done + r.wres, true
}

// aioRequestLocked maps an iocb's aio_data to its request. Hold k.Mu.
func (c *Context) aioRequestLocked(i int) *request {
	if i < len(c.reqs) {
		return &c.reqs[i]
	}
	return c.syncAIO[i-len(c.reqs)]
}
