package native

import (
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// syncSlots is how many kernel slots are kept beyond nrEvents for Do.
const syncSlots = 64

// Context is a Linux AIO engine context.
type Context struct {
	nr     int
	ctx    aioContext
	evfd   int  // the IOCB_FLAG_RESFD of every iocb: wakes the waiter
	mapped bool // ring is readable in user space
	ring   ring
	reqs   []request

	// smu is read-held from the moment Submit or Do takes a request until
	// its iocb is in the kernel, and held by Destroy while it marks the
	// context dead: Destroy's cancels then see every iocb.
	smu sync.RWMutex

	// mu guards everything below, every request's mutable fields, and
	// the reading of the kernel ring.
	mu        sync.Mutex
	dead      bool
	closed    bool // evfd is closed and the kernel context destroyed
	inflight  int  // user and sync requests taken and not completed
	pending   int  // iocbs in the kernel whose completion is not reaped
	free      *request
	freeSync  *request
	syncs     []*request
	events    core.Ring // the user ring: a slot per user request in flight or completed and unreaped
	resfdReqs int
	reaping   bool
	stats     core.Stats
	scratch   [64]ioEvent // io_getevents' buffer when the ring is not mapped
	wg        sync.WaitGroup

	// Waiters and KW, the waiter in the kernel (see core.KernelWaiters).
	// Guarded by mu.
	core.KernelWaiters[waitFor]
}

// New creates an AIO context with room for nr completions.
func New(nr int) (*Context, error) {
	if nr <= 0 {
		return nil, unix.EINVAL
	}
	ctx, hdr, err := ioSetup(nr + syncSlots)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		ioDestroy(ctx)
		return nil, err
	}
	c := &Context{nr: nr, ctx: ctx, evfd: evfd}
	c.mapped = c.ring.mapRing(hdr)
	c.events.Init(nr)
	c.reqs = make([]request, nr)
	for i := nr - 1; i >= 0; i-- {
		r := &c.reqs[i]
		r.claim = core.Claim{Owner: c, Index: i}
		r.ud = userData(kindUser, i)
		r.k = new(kiocb)
		r.nextFree = c.free
		c.free = r
	}
	return c, nil
}

// batch is the iocbs of one Submit on their way to io_submit.
type batch struct {
	ptrs [64]uintptr
	reqs [64]*request
	n    int
}

// Submit implements core.Backend.
func (c *Context) Submit(iocbs []*core.Iocb) (int, error) {
	var fi core.FdInfo
	fi.Reset()
	var b batch
	c.smu.RLock()
	defer c.smu.RUnlock()
	n := 0
	var err error
	for _, i := range iocbs {
		if err = core.Check(i, &fi); err != nil {
			break
		}
		c.mu.Lock()
		var r *request
		r, err = c.takeLocked(i, false)
		if err != nil {
			c.mu.Unlock()
			break
		}
		c.startLocked(r, i, &fi, &b)
		if !r.inFlight { // completed in user space
			c.wakeReadyLocked()
		}
		c.mu.Unlock()
		n++
		if b.n == len(b.ptrs) {
			c.flush(&b)
		}
	}
	c.flush(&b)
	return n, err
}

// takeLocked reserves a request for i: a slot (unless sync) and its claim.
func (c *Context) takeLocked(i *core.Iocb, sync bool) (*request, error) {
	if c.dead {
		return nil, unix.EINVAL
	}
	var r *request
	if sync {
		r = c.freeSync
		if r == nil {
			r = &request{sync: true, k: new(kiocb)}
			r.claim = core.Claim{Owner: c, Index: len(c.reqs) + len(c.syncs)}
			r.ud = userData(kindSync, len(c.syncs))
			c.syncs = append(c.syncs, r)
		} else {
			c.freeSync = r.nextFree
		}
	} else {
		if !c.events.Reserve() {
			return nil, unix.EAGAIN
		}
		r = c.free
	}
	if !i.Take(&r.claim) {
		if sync {
			r.nextFree = c.freeSync
			c.freeSync = r
		} else {
			c.events.Release()
		}
		return nil, unix.EINVAL // already in flight
	}
	if !sync {
		c.free = r.nextFree
	}
	r.iocb = i
	r.inFlight = true
	r.done = false
	r.written, r.cancelled = 0, false
	r.resfd = -1
	if i.Flags&core.FlagResFd != 0 {
		r.resfd = i.ResFd
		c.resfdReqs++
		if !c.reaping {
			c.reaping = true
			c.wg.Add(1)
			go c.reaper()
		}
	}
	c.inflight++
	c.stats.Submitted++
	return r, nil
}

// startLocked starts r: NOOP completes now, a stream with RWF_NOWAIT is
// attempted now, anything else gets its iocb into b. Hold mu.
func (c *Context) startLocked(r *request, i *core.Iocb, fi *core.FdInfo, b *batch) {
	if i.Op == core.OpNoop {
		c.completeLocked(r, 0)
		return
	}
	r.stream = (i.Op.Reads() || i.Op.Writes()) && !fi.Seekable()
	r.nowait = i.RWFlags&unix.RWF_NOWAIT != 0
	if r.stream && r.nowait {
		c.transferLocked(r)
		return
	}
	r.prep(i, fi, c.evfd)
	r.inKernel = true
	c.pending++
	b.ptrs[b.n], b.reqs[b.n] = kiocbAddr(r.k), r
	b.n++
}

// flush io_submits b. Every iocb in it was validated and accounted: each
// must end in exactly one event, so one the kernel refuses (a check kaio
// could not make, such as an RWF flag this kernel lacks) completes with the
// kernel's errno, and the rest are submitted after it.
func (c *Context) flush(b *batch) {
	ptrs, reqs := b.ptrs[:b.n], b.reqs[:b.n]
	for len(ptrs) > 0 {
		n, e := ioSubmit(c.ctx, ptrs)
		switch e {
		case 0:
			ptrs, reqs = ptrs[n:], reqs[n:]
		case unix.EINTR:
		case unix.EAGAIN:
			// The kernel context is out of slots (only Do can get
			// there): wait for completions to free some.
			time.Sleep(100 * time.Microsecond)
		default:
			c.mu.Lock()
			r := reqs[0]
			r.inKernel = false
			c.pending--
			c.completeLocked(r, -int64(e))
			c.wakeReadyLocked()
			c.mu.Unlock()
			ptrs, reqs = ptrs[1:], reqs[1:]
		}
	}
	b.n = 0
}

// transferLocked does a stream request's transfer once the fd polled ready
// (or at once for RWF_NOWAIT): it completes r or polls again. Hold mu; the
// syscall does not block (RWF_NOWAIT, or a non-blocking fd).
func (c *Context) transferLocked(r *request) {
	i := r.iocb
	flags := i.RWFlags | unix.RWF_NOWAIT
	for {
		iov := r.buildIov(i, r.written, false)
		// Not raw: without RWF_NOWAIT (below) the call may block.
		n, e := core.RWv(i.Op.Writes(), i.Fd, iov, -1, flags, false)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EOPNOTSUPP && flags&unix.RWF_NOWAIT != 0 && !r.nowait:
			flags &^= unix.RWF_NOWAIT // a file without RWF_NOWAIT: it polled ready
			continue
		case e == unix.EAGAIN && !r.nowait:
			c.repollLocked(r)
			return
		case e != 0:
			c.finishLocked(r, -int64(e))
			return
		case i.Op.Reads():
			c.completeLocked(r, int64(n))
			return
		}
		r.written += int64(n)
		if n == 0 || r.written == i.Len() {
			c.completeLocked(r, r.written)
			return
		}
		if r.nowait {
			c.completeLocked(r, r.written)
			return
		}
	}
}

// repollLocked puts a stream request's poll iocb back in the kernel.
func (c *Context) repollLocked(r *request) {
	if c.dead || r.cancelled {
		c.finishLocked(r, -int64(unix.ECANCELED))
		return
	}
	k := r.k
	*k = kiocb{aioData: r.ud, aioFildes: uint32(r.iocb.Fd), aioLioOpcode: cmdPoll, aioFlags: iocbFlagResFd, aioResfd: uint32(c.evfd)}
	k.aioBuf = unix.POLLIN
	if r.iocb.Op.Writes() {
		k.aioBuf = unix.POLLOUT
	}
	ptr := [1]uintptr{kiocbAddr(k)}
	for {
		_, e := ioSubmit(c.ctx, ptr[:])
		switch e {
		case 0:
			r.inKernel = true
			c.pending++
			return
		case unix.EINTR, unix.EAGAIN:
			continue
		}
		c.finishLocked(r, -int64(e))
		return
	}
}

// finishLocked completes r after an error: the bytes written before it, if
// any, are the result.
func (c *Context) finishLocked(r *request, res int64) {
	if r.written > 0 {
		res = r.written
	}
	c.completeLocked(r, res)
}

// Do implements core.Backend: the iocb goes to the kernel tagged as
// private, uses no slot, and the caller waits for its completion.
func (c *Context) Do(i *core.Iocb) core.Event {
	var fi core.FdInfo
	fi.Reset()
	if err := core.Check(i, &fi); err != nil {
		return core.ErrEvent(i, err)
	}
	var b batch
	c.smu.RLock()
	c.mu.Lock()
	r, err := c.takeLocked(i, true)
	if err != nil {
		c.mu.Unlock()
		c.smu.RUnlock()
		return core.ErrEvent(i, err)
	}
	c.startLocked(r, i, &fi, &b)
	if !r.inFlight {
		c.wakeReadyLocked() // the eventfd reaper may be done
	}
	c.mu.Unlock()
	c.flush(&b)
	c.smu.RUnlock()
	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{req: r})
	ev := core.Event{Data: i.Data, Obj: i, Res: r.res}
	r.iocb = nil
	r.nextFree = c.freeSync
	c.freeSync = r
	c.mu.Unlock()
	return ev
}

// Cancel implements core.Backend with io_cancel, which the kernel answers
// for polls only (see the package doc).
func (c *Context) Cancel(i *core.Iocb) error {
	cl := i.ClaimedBy(c)
	if cl == nil {
		return unix.EINVAL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || i.Claimed() != cl {
		return unix.EINVAL
	}
	c.drainLocked() // a completion already in the ring: not in flight
	r := c.requestLocked(cl)
	if !r.inFlight || r.iocb != i {
		return unix.EINVAL
	}
	if !r.stream && i.Op != core.OpPoll {
		return unix.EAGAIN // file I/O under way: the kernel cannot cancel it
	}
	if r.cancelled {
		return nil
	}
	r.cancelled = true
	c.cancelKernelLocked(r)
	return nil
}

// cancelKernelLocked asks the kernel to end r's poll iocb. Hold mu.
func (c *Context) cancelKernelLocked(r *request) {
	if !r.inKernel {
		return
	}
	var ev ioEvent
	if e := ioCancel(c.ctx, r.k, &ev); e == 0 {
		// Kernels before 4.19 complete a cancelled iocb through
		// io_cancel's result instead of the ring.
		r.inKernel = false
		c.pending--
		c.finishLocked(r, -int64(unix.ECANCELED))
		c.wakeReadyLocked()
	}
	// -EINPROGRESS: the event comes through the ring. EINVAL: it
	// completed already; its event is in the ring.
}

// requestLocked maps a claim of this context to its request. Hold mu.
func (c *Context) requestLocked(cl *core.Claim) *request {
	if cl.Index < len(c.reqs) {
		return &c.reqs[cl.Index]
	}
	return c.syncs[cl.Index-len(c.reqs)]
}

// Stats implements core.Backend.
func (c *Context) Stats() core.Stats {
	c.mu.Lock()
	s := c.stats
	s.InFlight = c.inflight
	c.mu.Unlock()
	return s
}

// Destroy implements core.Backend: cancel what the kernel can cancel, wait
// for every completion, then io_destroy.
func (c *Context) Destroy() error {
	c.smu.Lock()
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		c.smu.Unlock()
		return unix.EINVAL
	}
	c.dead = true
	c.drainLocked()
	for i := range c.reqs {
		if r := &c.reqs[i]; r.inFlight && (r.stream || r.iocb.Op == core.OpPoll) {
			r.cancelled = true
			c.cancelKernelLocked(r)
		}
	}
	for _, r := range c.syncs {
		if r.inFlight && (r.stream || r.iocb.Op == core.OpPoll) {
			r.cancelled = true
			c.cancelKernelLocked(r)
		}
	}
	c.Waiters.WakeAll()
	c.mu.Unlock()
	c.smu.Unlock()
	c.WakeKernel()

	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{destroy: true})
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	ioDestroy(c.ctx)
	unix.Close(c.evfd)
	return nil
}
