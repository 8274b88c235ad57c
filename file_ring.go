//go:build linux

package kaio

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// fileRing runs the requests of every File on one Context: Files are
// goroutine-shaped (each call waits for its own result), the Context is
// libaio-shaped (Submit many, reap many). Nothing here runs on a goroutine
// of its own; the callers share out two roles among themselves:
//
//   - The submitter. A call queues its request and, unless a submission is
//     under way or the reaper is about to make one, submits the queue
//     itself: every request that arrived meanwhile goes out in the same
//     Submit (flat combining). Calls that arrive while it is in the kernel
//     go out together in its next round.
//   - The reaper. A call whose request is in flight becomes the reaper
//     when there is none: it takes events for everyone, hands each to its
//     request and wakes exactly that request's caller, and goes on until
//     its own request is done; then it wakes one caller still waiting,
//     which takes over. While awake it polls and yields, and submits what
//     the callers it woke queue meanwhile (see reapLocked). With one
//     caller at a time, the caller itself sleeps in the kernel and nothing
//     else wakes up.
//
// A Context a fileRing runs on is reaped by it alone: OnContext's doc says
// so.
type fileRing struct {
	c  *Context
	nr int // the Context's ring size: at most nr requests in flight

	// mu guards every field below, and every fileOp's state, res, cancel,
	// parked and links.
	mu       sync.Mutex
	ops      []*fileOp // by index, which is each op's Iocb.Data
	free     *fileOp   // linked through links[qLink].next
	queue    opList    // waiting to be submitted, oldest first
	parked   opList    // callers asleep on their op's channel, whose op is not done
	inflight int       // submitted, event not yet reaped
	// The roles: a goroutine is submitting the queue; a goroutine is the
	// reaper; the reaper is awake (not asleep in the kernel) and will
	// submit the queue, so callers need not.
	submitting bool
	reaping    bool
	awake      bool
	full       bool // Submit said EAGAIN: wait for events before trying again
	dead       bool // the Context was destroyed under the Files

	// submits and submitted count the Submit calls and the requests
	// they carried, and maxBatch is the most one carried: how well the
	// calls were batched (tests read them).
	submits, submitted uint64
	maxBatch           int

	// Scratch space, used only by the goroutine holding the matching role
	// (submitting, reaping): the ring path allocates nothing.
	subIocbs [fileBatch]*Iocb
	subOps   [fileBatch]*fileOp
	evs      [fileBatch]Event
}

// fileBatch is the most requests one Submit or one GetEvents moves.
const fileBatch = 128

// opState is where a fileOp is in its life. Guarded by fileRing.mu.
type opState uint8

const (
	opFree       opState = iota
	opQueued             // on fileRing.queue
	opSubmitting         // in the submitter's batch: Submit has it
	opInFlight           // the Context has it
	opDone               // res is its result
)

// Links of a fileOp: one for the queue (and the free list), one for the
// parked list, on which an op may be while it is queued too.
const (
	qLink = 0
	pLink = 1
)

// fileOp is one File request on its way through the ring. Ops are made as
// needed and kept for reuse, so that a steady stream of calls allocates
// nothing.
type fileOp struct {
	iocb Iocb // Data is the op's index in fileRing.ops
	f    *File

	// Guarded by fileRing.mu.
	state  opState
	res    int64
	cancel bool // cancel it as soon as Submit returns it (see cancelLocked)
	parked bool // the caller sleeps on wake (and the op is on fileRing.parked)
	token  bool // a token was sent on wake that the caller has not taken
	links  [2]struct{ next, prev *fileOp }

	// wake has room for one token, sent under mu by whoever takes the op
	// off the parked list (finishLocked, or the reaper handing its role
	// on), so the send never blocks. A token left over (the caller woke
	// for its context instead) is drained when the op is freed.
	wake chan struct{}
}

// opList is an intrusive doubly linked list of ops through links[k].
type opList struct {
	head, tail *fileOp
	k          int
}

func (l *opList) pushBack(o *fileOp) {
	ln := &o.links[l.k]
	ln.next, ln.prev = nil, l.tail
	if l.tail != nil {
		l.tail.links[l.k].next = o
	} else {
		l.head = o
	}
	l.tail = o
}

func (l *opList) pushFront(o *fileOp) {
	ln := &o.links[l.k]
	ln.next, ln.prev = l.head, nil
	if l.head != nil {
		l.head.links[l.k].prev = o
	} else {
		l.tail = o
	}
	l.head = o
}

func (l *opList) remove(o *fileOp) {
	ln := &o.links[l.k]
	if ln.prev != nil {
		ln.prev.links[l.k].next = ln.next
	} else {
		l.head = ln.next
	}
	if ln.next != nil {
		ln.next.links[l.k].prev = ln.prev
	} else {
		l.tail = ln.prev
	}
	ln.next, ln.prev = nil, nil
}

func (l *opList) popFront() *fileOp {
	o := l.head
	if o != nil {
		l.remove(o)
	}
	return o
}

// fileRings holds each Context's fileRing (*Context to *fileRing), made
// when its first File opens and forgotten when it is destroyed. It is a
// table beside Context, not a field of it, because Context is declared on
// every platform and Files run on one only on Linux. Files look their ring
// up once, at open.
var fileRings sync.Map

// fileRing returns the Files' ring of c, making it at first use.
func (c *Context) fileRing() *fileRing {
	if r, ok := fileRings.Load(c); ok {
		return r.(*fileRing)
	}
	r, _ := fileRings.LoadOrStore(c, newFileRing(c, c.nr))
	return r.(*fileRing)
}

// forgetFileRing drops c's fileRing when c is destroyed; Files still open
// on c keep it, and their calls fail as c's engine does.
func forgetFileRing(c *Context) { fileRings.Delete(c) }

func newFileRing(c *Context, nr int) *fileRing {
	r := &fileRing{c: c, nr: nr}
	r.queue.k, r.parked.k = qLink, pLink
	return r
}

// getLocked takes a free op, or makes one. Hold mu.
func (r *fileRing) getLocked() *fileOp {
	o := r.free
	if o == nil {
		o = &fileOp{wake: make(chan struct{}, 1)}
		o.iocb.Data = uint64(len(r.ops))
		r.ops = append(r.ops, o)
		return o
	}
	r.free = o.links[qLink].next
	o.links[qLink].next = nil
	return o
}

// putLocked frees o, whose caller is done with it. Hold mu.
func (r *fileRing) putLocked(o *fileOp) {
	if o.token {
		<-o.wake // sent for a wait that ended otherwise (its context)
		o.token = false
	}
	o.iocb.Buf, o.f = nil, nil // keep no caller's memory reachable
	o.state, o.cancel = opFree, false
	o.links[qLink].next = r.free
	r.free = o
}

// do runs one request for f and returns its result: a byte count or a
// negative errno; -ECANCELED when ctx ended first.
// The caller holds a reference on f, so its fd stays open throughout.
func (r *fileRing) do(ctx context.Context, f *File, op Op, p []byte, off int64) int64 {
	if ctx.Err() != nil {
		return -int64(unix.ECANCELED) // a later request of a call whose context ended
	}
	r.mu.Lock()
	if r.dead {
		r.mu.Unlock()
		return -int64(unix.EINVAL)
	}
	if !f.seekable && f.refs.Load()&closedBit != 0 {
		// Close has begun, and cancelled (under mu) the requests
		// it found: this one, which it did not, must not wait.
		r.mu.Unlock()
		return -int64(unix.ECANCELED)
	}
	o := r.getLocked()
	o.f = f
	o.iocb.Op, o.iocb.Fd, o.iocb.Buf, o.iocb.Offset = op, f.fd, p, off
	o.state = opQueued
	r.queue.pushBack(o)
	if !r.submitting && !r.awake {
		r.flushLocked()
	}
	r.waitLocked(ctx, o)
	res := o.res
	r.putLocked(o)
	r.mu.Unlock()
	return res
}

// canFlushLocked reports whether the queue can be submitted now by the
// caller: there is something to submit, room for it, and nobody else
// about to. Hold mu.
func (r *fileRing) canFlushLocked() bool {
	return r.queue.head != nil && !r.submitting && !r.full && r.inflight < r.nr && !r.dead
}

// flushLocked submits the queue, as many rounds as it takes, while there
// is room in the ring: requests queued during one round go out in the
// next. Hold mu; it is dropped around each Submit.
func (r *fileRing) flushLocked() {
	r.submitting = true
	for r.queue.head != nil && !r.full && r.inflight < r.nr && !r.dead {
		k := 0
		for k < fileBatch && r.inflight+k < r.nr && r.queue.head != nil {
			o := r.queue.popFront()
			o.state = opSubmitting
			r.subOps[k], r.subIocbs[k] = o, &o.iocb
			k++
		}
		r.inflight += k
		r.submits++
		r.submitted += uint64(k)
		r.maxBatch = max(r.maxBatch, k)
		r.mu.Unlock()
		// Every op here holds a reference on its File, so the first
		// one's fd stays open throughout: its info spares Submit
		// looking it up (the others' are looked up as usual).
		n, err := r.c.be.submitHint(r.subIocbs[:k], r.subOps[0].f.hint())
		errno := errnoOf(err)
		r.mu.Lock()
		for _, o := range r.subOps[:n] {
			if o.state != opSubmitting {
				continue // the reaper has finished it already
			}
			o.state = opInFlight
			if o.cancel {
				// Its caller's context ended while Submit had
				// it: the caller left the cancelling to us.
				o.cancel = false
				r.c.Cancel(&o.iocb)
			}
		}
		r.inflight -= k - n
		if n < k {
			rest := r.subOps[n:k]
			if errno != unix.EAGAIN {
				// Submit refused this one (EBADF, EINVAL: the
				// errnos of io_submit): that is its result.
				r.finishLocked(rest[0], -int64(errno))
				rest = rest[1:]
			} else if r.inflight > 0 {
				// The ring is full after all: its other slots are
				// not ours (the Context is used beside the Files).
				// The reaper tries again after its next events.
				r.full = true
			} else {
				// Full of requests none of which is ours: what
				// we reap will not make room. Try again shortly.
				r.mu.Unlock()
				time.Sleep(50 * time.Microsecond)
				r.mu.Lock()
			}
			for j := len(rest) - 1; j >= 0; j-- {
				rest[j].state = opQueued
				r.queue.pushFront(rest[j])
			}
		}
		clear(r.subOps[:k])
		clear(r.subIocbs[:k])
	}
	r.submitting = false
}

// errnoOf is the errno of Submit's error (a *SubmitError, whose Err is
// the errno), EIO for an error that has none. A type switch, not
// errors.As, which would allocate.
func errnoOf(err error) unix.Errno {
	if se, ok := err.(*SubmitError); ok {
		err = se.Err
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

// finishLocked records o's result and wakes its caller if it sleeps.
// Hold mu.
func (r *fileRing) finishLocked(o *fileOp, res int64) {
	o.res, o.state = res, opDone
	if o.parked {
		r.wakeLocked(o)
	}
}

// wakeLocked wakes o's caller, which sleeps on o.wake. Hold mu.
func (r *fileRing) wakeLocked(o *fileOp) {
	o.parked = false
	o.token = true
	r.parked.remove(o)
	o.wake <- struct{}{}
}

// waitLocked waits until o is done: as the reaper, as the submitter, or
// asleep on o.wake. When ctx ends first it cancels o and still waits for
// its end, since the buffer is the kernel's until then. Hold mu.
func (r *fileRing) waitLocked(ctx context.Context, o *fileOp) {
	done := ctx.Done() // nil for a context that cannot end: no select then
	for o.state != opDone {
		switch {
		case !r.reaping && r.inflight > 0:
			r.reaping = true
			r.reapLocked(ctx, done, o)
			if done != nil && ctx.Err() != nil {
				done = nil
				r.cancelLocked(o)
			}
			continue
		case r.canFlushLocked() && !r.awake:
			r.flushLocked()
			continue
		}
		o.parked = true
		r.parked.pushBack(o)
		r.mu.Unlock()
		took := true
		if done == nil {
			<-o.wake // lighter than a select
		} else {
			select {
			case <-o.wake:
			case <-done:
				took = false
			}
		}
		r.mu.Lock()
		if took {
			o.token = false
		}
		if o.parked { // nobody woke us: we left for done
			o.parked = false
			r.parked.remove(o)
		}
		if done != nil && ctx.Err() != nil {
			done = nil
			r.cancelLocked(o)
		}
	}
	r.handOffLocked()
}

// handOffLocked wakes a sleeping caller to be the reaper when requests are
// in flight and nobody reaps: when the reaper leaves, or when a submitter
// whose own request was already done leaves, having submitted those of
// callers who went to sleep while it was submitting. Hold mu.
func (r *fileRing) handOffLocked() {
	if !r.reaping && r.inflight > 0 && r.parked.head != nil {
		r.wakeLocked(r.parked.head)
	}
}

// cancelLocked ends o early for its caller, whose context ended: a queued
// op leaves the queue; one in flight is cancelled on the Context, whose
// event then comes as usual (-ECANCELED, or the real result if it was too
// late); one that Submit has right now is cancelled by the submitter when
// Submit returns. Cancel is called with mu held, so that o cannot finish,
// be freed and be reused for another request in between. Hold mu.
func (r *fileRing) cancelLocked(o *fileOp) {
	switch o.state {
	case opQueued:
		r.queue.remove(o)
		r.finishLocked(o, -int64(unix.ECANCELED))
	case opInFlight:
		r.c.Cancel(&o.iocb) // nil, EINVAL (done already) or EAGAIN (too late): the event comes either way
	case opSubmitting:
		o.cancel = true
	}
}

// reapLocked is the reaper's loop: it waits for events for everyone and
// finishes their ops until own is done or done is closed, then gives up
// the role. Hold mu; it is dropped around each wait.
//
// While other requests are in flight the reaper polls (GetEvents with no
// timeout reads the completions the kernel posted, without a syscall on
// the kernel engines) and yields between polls, so that the callers it
// woke run and queue their next requests, which it submits at the top of
// the loop; only after maxIdlePolls polls in a row find nothing does it
// sleep in the kernel. A thread that sleeps and is woken costs several
// microseconds, more than a 4 KiB O_DIRECT read from RAM: at depth,
// completions come faster than that, and polling keeps every thread busy.
func (r *fileRing) reapLocked(ctx context.Context, done <-chan struct{}, own *fileOp) {
	idle := 0
	for own.state != opDone && r.inflight > 0 {
		if r.canFlushLocked() {
			r.flushLocked()
			continue
		}
		// Sleep when polling is not worth it: nothing came for a
		// while, or own is all there is in flight.
		sleep := idle >= maxIdlePolls || r.inflight == 1
		r.awake = !sleep
		r.mu.Unlock()
		var n int
		var err error
		if sleep {
			n, err = r.getEvents(done)
		} else {
			n, err = r.c.GetEvents(0, r.evs[:], 0)
		}
		r.mu.Lock()
		r.awake = true
		for _, ev := range r.evs[:n] {
			if ev.Data >= uint64(len(r.ops)) || ev.Obj != &r.ops[ev.Data].iocb {
				continue // not a File's: see OnContext
			}
			r.inflight--
			r.finishLocked(r.ops[ev.Data], ev.Res)
		}
		if n > 0 {
			r.full = false
			clear(r.evs[:n]) // the iocbs and their buffers are the callers' again
			idle = 0
		} else if !sleep {
			idle++
		}
		if err == unix.EINVAL {
			r.diedLocked()
			break
		}
		if done != nil && ctx.Err() != nil {
			break
		}
		if own.state != opDone && r.inflight > 0 && (n > 0 || !sleep) {
			// Let the callers just woken run first: what they
			// submit next queues up, and goes out in one Submit
			// at the top of the loop instead of one each.
			r.mu.Unlock()
			runtime.Gosched()
			r.mu.Lock()
		}
	}
	if r.canFlushLocked() {
		// Submit what the callers queued, but let the ones just woken
		// run first: they queue their next requests, which go out in
		// the same Submit, instead of waiting in this P's run queue
		// while it is in the kernel.
		r.mu.Unlock()
		runtime.Gosched()
		r.mu.Lock()
		if r.canFlushLocked() {
			r.flushLocked()
		}
	}
	r.awake = false
	r.reaping = false
}

// maxIdlePolls is how many polls in a row may find no completion before
// the reaper sleeps in the kernel.
const maxIdlePolls = 16

// getEvents waits for at least one event. A caller with a context that
// can end (done != nil) waits in slices of a millisecond and looks at the
// context between them: GetEventsContext would allocate a callback per
// call.
func (r *fileRing) getEvents(done <-chan struct{}) (int, error) {
	if done == nil {
		return r.c.GetEvents(1, r.evs[:], -1)
	}
	select {
	case <-done:
		return r.c.GetEvents(0, r.evs[:], 0)
	default:
	}
	return r.c.GetEvents(1, r.evs[:], time.Millisecond)
}

// diedLocked fails every op when the Context was destroyed under the
// Files: Destroy ends every request and drops their events. It first waits
// until the Context has nothing in flight, so that no buffer goes back to
// its caller while the kernel may still use it. Hold mu.
func (r *fileRing) diedLocked() {
	r.dead = true
	r.mu.Unlock()
	for r.c.Stats().InFlight > 0 {
		time.Sleep(100 * time.Microsecond)
	}
	r.mu.Lock()
	for _, o := range r.ops {
		switch o.state {
		case opQueued:
			r.queue.remove(o)
			r.finishLocked(o, -int64(unix.ECANCELED))
		case opInFlight:
			r.inflight--
			r.finishLocked(o, -int64(unix.ECANCELED))
		}
	}
}

// cancelFile cancels f's requests that have not finished: Close does, for
// files whose reads may wait forever (pipes, sockets). It returns at once;
// their callers get -ECANCELED, or the real result if it was too late.
func (r *fileRing) cancelFile(f *File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.ops {
		if o.f == f && o.state != opFree && o.state != opDone {
			r.cancelLocked(o)
		}
	}
}
