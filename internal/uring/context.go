package uring

import (
	"runtime"
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Context is an io_uring engine context: one ring, nrEvents slots.
type Context struct {
	nr     int
	fd     int // the ring; closed by Destroy once nothing is pending
	extArg bool
	reqs   []request // the nr user slots; never reallocated

	// smu serialises writers of the SQ ring (Submit, Cancel, the wake-up
	// NOP, Destroy) and guards the fields below it. The CQ side of ring is
	// read under mu instead; its mapping changes only when Destroy closes
	// it, once nobody is waiting.
	smu    sync.Mutex
	ring   ring
	sqTail uint32 // our copy of the SQ tail
	closed bool   // the ring is unmapped and its fd closed

	// The registered buffers (RegisterBuffers): the table prep looks
	// them up in, and their pins, which also keep them from being freed.
	fixed    fixedTable
	fixedPin runtime.Pinner

	// mu guards everything below, and the CQ head.
	mu        sync.Mutex
	dead      bool
	inflight  int // user and sync requests submitted and not drained
	pending   int // SQEs submitted whose CQE is not drained (internal ones too)
	free      *request
	freeSync  *request
	syncs     []*request // sync requests by index; only grows
	events    core.Ring  // the user ring: a slot per user request in flight or drained and unreaped
	resub     *request   // stream reads and writes waiting for their next SQE
	resfdReqs int        // requests in flight with an eventfd to signal
	reaping   bool       // the eventfd reaper goroutine runs
	stats     core.Stats
	wg        sync.WaitGroup // the reaper

	// Waiters and KW, the waiter in the kernel (see core.KernelWaiters).
	// Guarded by mu.
	core.KernelWaiters[waitFor]
}

// New sets up an io_uring with room for nr completions.
func New(nr int) (*Context, error) {
	if nr <= 0 {
		return nil, unix.EINVAL
	}
	c := &Context{nr: nr}
	sq := uint32(min(max(nr, 8), 4096))
	p := params{flags: setupCQSize | setupClamp, cqEntries: uint32(min(max(2*nr, 16), 2*maxEntries))}
	fd, err := setup(sq, &p)
	if err == unix.EINVAL {
		// Kernels before 5.5 know neither CQSIZE nor CLAMP.
		p = params{}
		fd, err = setup(sq, &p)
	}
	if err != nil {
		return nil, err
	}
	c.fd = fd
	if err := c.ring.mapRing(fd, &p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c.extArg = p.features&featExtArg != 0
	c.sqTail = c.ring.loadSQTail()
	c.events.Init(nr)
	c.reqs = make([]request, nr)
	for i := nr - 1; i >= 0; i-- {
		r := &c.reqs[i]
		r.claim = core.Claim{Owner: c, Index: i}
		r.ud = userData(kindUser, i)
		r.nextFree = c.free
		c.free = r
	}
	return c, nil
}

// Submit implements core.Backend.
func (c *Context) Submit(iocbs []*core.Iocb) (int, error) {
	var fi core.FdInfo
	fi.Reset()
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return 0, unix.EINVAL
	}
	n := 0
	var err error
	for _, i := range iocbs {
		if err = core.Check(i, &fi); err != nil {
			break
		}
		if _, err = c.submitSmu(i, &fi, false); err != nil {
			break
		}
		n++
	}
	c.flushSmu()
	return n, err
}

// submitSmu takes a request for i and writes its SQE (flushSmu sends it).
// The request is written under mu as well as smu: the drainer reads it
// under mu, and the kernel's SQE-to-CQE ordering is invisible to the race
// detector. Hold smu.
func (c *Context) submitSmu(i *core.Iocb, fi *core.FdInfo, sync bool) (*request, error) {
	s := c.sqeSmu() // before mu: it may flush, which may drain
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.takeLocked(i, sync)
	if err != nil {
		return nil, err
	}
	r.stream = (i.Op.Reads() || i.Op.Writes()) && !fi.Seekable()
	r.nowait = i.RWFlags&unix.RWF_NOWAIT != 0
	r.prep(s, i, i.Op == core.OpNoop || fi.Seekable(), true, c.fixed)
	c.sqTail++
	return r, nil
}

// takeLocked reserves a request for i: a ring slot (unless sync) and i's
// claim. Hold mu.
func (c *Context) takeLocked(i *core.Iocb, sync bool) (*request, error) {
	if c.dead {
		return nil, unix.EINVAL
	}
	var r *request
	if sync {
		r = c.getSyncLocked()
	} else {
		if !c.events.Reserve() {
			return nil, unix.EAGAIN
		}
		r = c.free
	}
	if !i.Take(&r.claim) {
		if sync {
			c.putSyncLocked(r)
		} else {
			c.events.Release()
		}
		return nil, unix.EINVAL // already in flight
	}
	if !sync {
		c.free = r.nextFree
	}
	r.written, r.cancelled = 0, false
	r.iocb = i
	r.inFlight = true
	r.done = false
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
	c.pending++
	c.stats.Submitted++
	return r, nil
}

func (c *Context) getSyncLocked() *request {
	r := c.freeSync
	if r == nil {
		r = &request{sync: true}
		r.claim = core.Claim{Owner: c, Index: len(c.reqs) + len(c.syncs)}
		r.ud = userData(kindSync, len(c.syncs))
		c.syncs = append(c.syncs, r)
		return r
	}
	c.freeSync = r.nextFree
	return r
}

func (c *Context) putSyncLocked(r *request) {
	r.iocb, r.cancel = nil, false
	r.nextFree = c.freeSync
	c.freeSync = r
}

// sqeSmu returns the next free SQE, submitting what is queued when the SQ
// ring is full. Hold smu.
func (c *Context) sqeSmu() *sqe {
	for c.sqTail-c.ring.loadSQHead() >= c.ring.sqEntries {
		c.flushSmu()
	}
	return &c.ring.sqes[c.sqTail&c.ring.sqMask]
}

// resubmit issues the next SQE of the stream writes that drains left on
// the resub list (see request.stream). Call it with no lock held.
func (c *Context) resubmit() {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return
	}
	kick := false
	for {
		s := c.sqeSmu() // before mu: it may flush, which may drain
		c.mu.Lock()
		r := c.resub
		if r == nil {
			// A continuation ended here, without a CQE, may be what
			// the kernel waiter waits for: wake it with a NOP.
			kick = kick && c.KW != nil && c.ReadyLocked(c.KW)
			if kick {
				c.pending++
			}
			c.mu.Unlock()
			if kick {
				*s = sqe{opcode: opNop, fd: -1, userData: userData(kindIgnore, 0)}
				c.sqTail++
			}
			break
		}
		c.resub = r.nextResub
		r.resub, r.nextResub = false, nil
		if r.cancelled || c.dead {
			c.finishLocked(r, -int64(unix.ECANCELED))
			kick = true
		} else {
			c.pending++
			r.prep(s, r.iocb, false, false, nil)
			c.sqTail++
		}
		c.mu.Unlock()
	}
	c.flushSmu()
}

// finishLocked completes r outside a drain (a cancelled continuation).
func (c *Context) finishLocked(r *request, res int64) {
	if r.written > 0 {
		res = r.written
	}
	c.completeLocked(r, res)
	c.wakeReadyLocked()
}

// queueRawSmu writes an SQE that carries no user buffer. Hold smu.
func (c *Context) queueRawSmu(op uint8, ud, addr uint64, flags uint32) {
	s := c.sqeSmu()
	*s = sqe{opcode: op, fd: -1, userData: ud, addr: addr, opFlags: flags}
	c.sqTail++
}

// flushSmu hands every queued SQE to the kernel. Every SQE written was
// validated and accounted, so it must reach the kernel: nothing is half
// submitted. Hold smu.
func (c *Context) flushSmu() {
	for {
		head := c.ring.loadSQHead()
		if head == c.sqTail {
			return
		}
		c.ring.storeSQTail(c.sqTail)
		_, e := enterSubmit(c.fd, c.sqTail-head)
		switch e {
		case 0, unix.EINTR:
		case unix.EAGAIN, unix.EBUSY, unix.ENOMEM:
			// The kernel is short of request memory, or its CQ backlog
			// is full: let completions be drained, then try again.
			c.mu.Lock()
			if c.KW == nil {
				c.drainLocked()
			}
			c.mu.Unlock()
			time.Sleep(50 * time.Microsecond)
		default:
			c.failQueuedSmu(head, e)
			return
		}
	}
}

// failQueuedSmu completes the SQEs from head on, which io_uring_enter
// refused outright (EPERM from a seccomp profile that allows setup but not
// enter, or the like), with its errno: each still yields its one event.
// They are taken back from the SQ ring, which the kernel did not read.
// Hold smu.
func (c *Context) failQueuedSmu(head uint32, e unix.Errno) {
	c.mu.Lock()
	for t := head; t != c.sqTail; t++ {
		c.handleCQELocked(c.ring.sqes[t&c.ring.sqMask].userData, -int64(e))
	}
	c.sqTail = head
	c.ring.storeSQTail(head)
	c.wakeReadyLocked()
	c.mu.Unlock()
}

// Do implements core.Backend: the request goes through the ring under a
// private tag, uses no slot, and the caller waits for its completion.
func (c *Context) Do(i *core.Iocb) core.Event {
	var fi core.FdInfo
	fi.Reset()
	if err := core.Check(i, &fi); err != nil {
		return core.ErrEvent(i, err)
	}
	c.smu.Lock()
	if c.closed {
		c.smu.Unlock()
		return core.ErrEvent(i, unix.EINVAL)
	}
	r, err := c.submitSmu(i, &fi, true)
	if err != nil {
		c.smu.Unlock()
		return core.ErrEvent(i, err)
	}
	c.flushSmu()
	c.smu.Unlock()
	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{req: r})
	ev := core.Event{Data: i.Data, Obj: i, Res: r.res}
	c.putSyncLocked(r)
	c.mu.Unlock()
	return ev
}

// Cancel implements core.Backend with IORING_OP_ASYNC_CANCEL, waiting for
// the kernel's answer.
func (c *Context) Cancel(i *core.Iocb) error {
	cl := i.ClaimedBy(c)
	if cl == nil {
		return unix.EINVAL
	}
	c.smu.Lock()
	c.mu.Lock()
	if c.dead || i.Claimed() != cl {
		c.mu.Unlock()
		c.smu.Unlock()
		return unix.EINVAL
	}
	target := c.requestLocked(cl)
	if target.resub { // between two writes of a stream: end it here
		target.cancelled = true
		c.mu.Unlock()
		c.smu.Unlock()
		c.resubmit()
		return nil
	}
	cr := c.getSyncLocked()
	cr.cancel = true
	cr.inFlight = true
	cr.done = false
	cr.resfd = -1
	c.pending++
	c.mu.Unlock()
	c.queueRawSmu(opAsyncCancel, cr.ud, target.ud, 0)
	c.flushSmu()
	c.smu.Unlock()

	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{req: cr})
	res := cr.res
	c.putSyncLocked(cr)
	c.mu.Unlock()
	switch res {
	case 0:
		return nil
	case -int64(unix.EALREADY):
		return unix.EAGAIN // running in an io-wq worker: it ends with its real result
	}
	return unix.EINVAL // -ENOENT: it completed already
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

// Destroy implements core.Backend: cancel everything, wait for every CQE,
// then unmap the rings and close the fd.
func (c *Context) Destroy() error {
	c.smu.Lock()
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		c.smu.Unlock()
		return unix.EINVAL
	}
	c.dead = true
	c.Waiters.WakeAll()
	for c.resub != nil { // continuations not issued: end them now
		r := c.resub
		c.resub = r.nextResub
		r.resub, r.nextResub = false, nil
		c.finishLocked(r, -int64(unix.ECANCELED))
	}
	var targets []uint64
	for i := range c.reqs {
		if c.reqs[i].inFlight {
			targets = append(targets, c.reqs[i].ud)
		}
	}
	for _, r := range c.syncs {
		if r.inFlight && !r.cancel {
			targets = append(targets, r.ud)
		}
	}
	kw := c.KW != nil
	c.pending += len(targets)
	if kw {
		c.pending++
	}
	c.mu.Unlock()
	for _, ud := range targets {
		c.queueRawSmu(opAsyncCancel, userData(kindIgnore, 0), ud, 0)
	}
	if kw { // end the kernel waiter's sleep: it has to leave for us
		c.queueRawSmu(opNop, userData(kindIgnore, 0), 0, 0)
	}
	c.flushSmu()
	c.smu.Unlock()

	c.mu.Lock()
	c.WaitUntilLocked(&c.mu, c, waitFor{destroy: true})
	c.mu.Unlock()
	c.wg.Wait()

	c.smu.Lock()
	c.closed = true
	c.ring.unmap()
	unix.Close(c.fd) // the kernel drops the registered buffers with the ring
	c.dropFixedSmu()
	c.smu.Unlock()
	return nil
}
