//go:build linux

package kctx

import (
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/invariants"
	"github.com/kaio-go/kaio/internal/lock"
	"golang.org/x/sys/unix"
)

// Kernel is the engine's half of a context. P is the engine's own part of
// a request (Req.P).
type Kernel[P any] interface {
	// Prep writes r's kernel form for its first operation and pins the
	// memory the kernel will use. It may instead finish r at once (a
	// NOOP the kernel does not know, a stream transfer the caller asked
	// not to wait for) and report that with done and res. Hold Mu.
	Prep(r *Req[P], seekable bool) (done bool, res int64)
	// PrepNext writes the kernel form of a stream's next operation (see
	// Continue). Hold Mu.
	PrepNext(r *Req[P])
	// Issue hands rs, prepared, to the kernel in order. It returns how
	// many the kernel took and, when fewer than all, the errno with which
	// it refused rs[n]. Called without Mu.
	Issue(rs []*Req[P]) (n int, e unix.Errno)
	// AskCancel asks the kernel to cancel the request op names (its
	// TargetTag; for a SyncCancel engine also op.Target()), which is in
	// the kernel. It returns the answer, or Later when the answer will
	// come as a completion that the engine's drain hands to
	// AnsweredLocked. Called with Mu held if SyncCancel, else without.
	AskCancel(op *CancelOp[P]) Answer
	// SyncCancel reports that AskCancel answers at once and must be
	// called with Mu held: the kernel finds the request by something
	// that a later incarnation of it shares (Linux AIO's iocb address),
	// so it must not complete and be reused in between.
	SyncCancel() bool
	// DrainLocked takes in every completion the kernel has posted,
	// calling CompletedLocked for a request's, AnsweredLocked for a
	// cancel's and InternalDoneLocked for the engine's own operations.
	// Hold Mu.
	DrainLocked()
	// DrainOnlyByKW reports that only the goroutine in the kernel may
	// drain while there is one (io_uring: a completion drained just
	// before it entered the kernel would leave it asleep).
	DrainOnlyByKW() bool
	// SleepInKernel sleeps until the kernel posts a completion, WakeKernel
	// is called, or deadline passes (zero: none), and reports the last.
	// Called without Mu, by one goroutine at a time (so the engine may
	// keep the syscall's arguments in its context).
	SleepInKernel(deadline time.Time) (timedOut bool)
	// WakeKernel ends a SleepInKernel early, now or at its next call. It
	// may be called without Mu at any time, even after Close.
	WakeKernel()
	// Continue decides what follows a kernel completion with res of a
	// stream request, or a blocking transfer's result (blocked): finish
	// with the result, issue the next operation (after PrepNext), or make
	// a blocking transfer (Block) off the lock. Hold Mu.
	Continue(r *Req[P], res int64, blocked bool) (next Step, final int64)
	// Block makes r's blocking transfer and returns its result, without
	// Mu, on a goroutine of its own.
	Block(r *Req[P]) int64
	// Release drops what the kernel no longer uses once r is done (its
	// pins). Hold Mu.
	Release(r *Req[P])
	// Close frees the kernel context. Destroy calls it once nothing is
	// pending and nobody waits.
	Close()
}

// Step is what Continue decided.
type Step uint8

const (
	Finish   Step = iota // complete the request with the result
	Again                // issue its next operation (PrepNext, Issue)
	Blocking             // call Block on a goroutine, then Continue with its result
)

// Answer is the kernel's reply to a cancel.
type Answer uint8

const (
	Later     Answer = iota // the reply comes later, through AnsweredLocked
	Cancelled               // cancelled: the request's completion comes (or came) with -ECANCELED
	NotFound                // the kernel did not find it: done already, or not findable now
	Busy                    // it is under way and cannot be cancelled now
)

// state is where a request is. Only the state's owner moves it on, under Mu.
type state uint8

const (
	stFree    state = iota // on a free list
	stKernel               // handed (or being handed) to the kernel: one completion will come; counted in pending
	stReissue              // between two kernel operations of a stream, on the reissue list
	stBlocked              // in Block on a goroutine of its own; counted in pending
)

// Kinds of tag. A tag is the kind in its top two bits, the incarnation of
// a request in the next 30 (so that a cancel asked by tag, such as
// io_uring's ASYNC_CANCEL, cannot reach a later incarnation of the request
// it meant), and the index in the bottom 32.
const (
	KindUser   = 0 // one of the nrEvents requests
	KindSync   = 1 // a Do request
	KindCancel = 2 // a cancel operation (CancelOp)
	KindEngine = 3 // the engine's own operations
)

// Tag makes a tag from a kind and an index.
func Tag(kind, idx int) uint64 { return uint64(kind)<<62 | uint64(uint32(idx)) }

// KindOf is the kind of a tag.
func KindOf(tag uint64) int { return int(tag >> 62) }

// withGen is tag with incarnation gen.
func withGen(tag, gen uint64) uint64 {
	const genMask = 1<<30 - 1
	return tag&^(genMask<<32) | (gen&genMask)<<32
}

// Req is one request. Immutable fields are set at New; the others are
// guarded by Ctx.Mu unless said otherwise.
type Req[P any] struct {
	claim core.Claim
	// Tag is what the kernel hands back with the request's completion.
	Tag  uint64
	sync bool

	// Iocb is the request's iocb while it is in flight.
	Iocb *core.Iocb
	// Fd is the fd the kernel form names: Iocb.Fd (with FlagFixedFile,
	// the context's duplicate of that registered file), or for a stream
	// the request's own duplicate, which its later operations use.
	Fd int
	// ResFd is the request's own duplicate of Iocb.ResFd, or -1.
	ResFd int
	// Stream: a read or write of an fd without a position (pipe, socket,
	// tty, eventfd...), done in more than one kernel operation.
	Stream bool
	// NoWait: the caller's RWF_NOWAIT; EAGAIN is a result, not a wait.
	NoWait bool
	// Written counts a stream's bytes moved by earlier operations.
	Written int64
	// P is the engine's part.
	P P

	ownFd     bool   // Fd is a duplicate to close at completion
	gen       uint64 // incarnations, so that a cancel learns of reuse
	state     state
	issued    bool // its submitter's Issue returned: a cancel can find it
	cancelled bool // Cancel or Destroy asked for its end
	asking    int  // kernel cancels outstanding for it
	reask     bool // on Ctx.reask: Destroy asks again
	done      bool // a sync request's result is in res
	res       int64
	next      *Req[P] // free, reissue or reask list
}

// Cancelled reports whether Cancel or Destroy asked for r's end. Hold Mu.
func (r *Req[P]) Cancelled() bool { return r.cancelled }

// Index is r's index among the requests of its kind.
func (r *Req[P]) Index() int { return int(uint32(r.Tag)) }

// Ctx is the shared half of a kernel engine's context.
type Ctx[P any] struct {
	K    Kernel[P]
	reqs []Req[P] // the nr user requests; never reallocated
	// Go starts the context's own goroutines (the eventfd reaper, blocking
	// transfers), and Pause waits before a cancel is asked again
	// (time.Sleep); the schedule explorer supplies its own.
	Go    func(func())
	Pause func(time.Duration)

	// Mu guards everything below and every request's mutable fields.
	Mu        lock.Mutex
	dead      bool
	closed    bool // Close was called
	inflight  int  // requests taken and not completed
	pending   int  // kernel operations whose completion has not been taken in, plus blocking transfers
	free      *Req[P]
	freeSync  *Req[P]
	syncs     []*Req[P]
	ops       []*CancelOp[P]
	freeOps   *CancelOp[P]
	events    core.Ring // a slot per user request in flight or completed and unreaped
	reissue   *Req[P]   // streams waiting for their next operation
	reask     *Req[P]   // requests Destroy asks again
	freeBatch *batch[P]
	resfdReqs int  // requests in flight with an eventfd to signal
	reaping   bool // the eventfd reaper runs
	// issueWaits counts Cancels waiting for a request's issuer: the
	// issuer wakes them.
	issueWaits int
	stats      core.Stats
	wakeKW     bool // kw must be woken once Mu is released (wakeLocked)
	// The sleeping waiters, and kw, the one in the kernel (see wait.go).
	waiters WaitList
	kw      *Waiter
}

// Init prepares c for nr user requests whose engine parts init fills in.
func (c *Ctx[P]) Init(k Kernel[P], nr int, init func(r *Req[P])) {
	c.K = k
	if c.Go == nil {
		c.Go = func(f func()) { go f() }
	}
	if c.Pause == nil {
		c.Pause = time.Sleep
	}
	c.events.Init(nr)
	c.reqs = make([]Req[P], nr)
	for i := nr - 1; i >= 0; i-- {
		r := &c.reqs[i]
		r.claim = core.Claim{Owner: c, Index: i}
		r.Tag = Tag(KindUser, i)
		if init != nil {
			init(r)
		}
		r.next = c.free
		c.free = r
	}
}

// SetSched hands the context's lock and waiters to a schedule explorer.
// Call it before first use.
func (c *Ctx[P]) SetSched(s lock.Sched) {
	c.Mu.SetSched(s)
	c.waiters.Sched = s
}

// UserReq returns the user request of index i (for the engine's drain).
func (c *Ctx[P]) UserReq(i int) *Req[P] { return &c.reqs[i] }

// SyncReq returns the sync request of index i. Hold Mu.
func (c *Ctx[P]) SyncReq(i int) *Req[P] { return c.syncs[i] }

// ByTag returns the request a completion's tag names (a user or sync one),
// or nil for another kind. Hold Mu.
func (c *Ctx[P]) ByTag(tag uint64) *Req[P] {
	i := int(uint32(tag))
	switch KindOf(tag) {
	case KindUser:
		return &c.reqs[i]
	case KindSync:
		return c.syncs[i]
	}
	return nil
}

// requestLocked maps a claim of this context to its request. Hold Mu.
func (c *Ctx[P]) requestLocked(cl *core.Claim) *Req[P] {
	if cl.Index < len(c.reqs) {
		return &c.reqs[cl.Index]
	}
	return c.syncs[cl.Index-len(c.reqs)]
}

// plan is what Submit learnt about an iocb before taking a request for it.
type plan struct {
	seekable, stream bool
	src              int // the fd the request works on (core.Check's FdInfo.Fd)
	fd, resfd        int // duplicates made for the request, or -1
}

// batchMax bounds how many iocbs Submit takes under one acquisition of Mu.
const batchMax = 64

// Submit implements core.Backend's Submit: it validates a batch without
// Mu (core.Check; duplicating the fds the request will need after Submit
// returns), takes and prepares it in one critical section, issues it
// without Mu, and then asks the kernel to cancel whatever Cancel or
// Destroy marked meanwhile.
func (c *Ctx[P]) Submit(iocbs []*core.Iocb) (int, error) { return c.SubmitHint(iocbs, nil) }

// SubmitHint is Submit with what the caller knows of an fd it keeps open
// throughout (see core.FdInfo.Hint); hint may be nil.
func (c *Ctx[P]) SubmitHint(iocbs []*core.Iocb, hint *core.FdInfo) (int, error) {
	var fi core.FdInfo
	fi.Reset()
	fi.Use(hint)
	var plans [batchMax]plan
	n := 0
	for n < len(iocbs) {
		chunk := iocbs[n:min(len(iocbs), n+batchMax)]
		ok := 0
		var err error
		for ; ok < len(chunk); ok++ {
			if err = c.plan(chunk[ok], &fi, &plans[ok]); err != nil {
				break
			}
		}
		b, got, terr := c.take(chunk[:ok], plans[:ok], false)
		if terr != nil {
			err = terr
		}
		for j := got; j < ok; j++ {
			plans[j].close()
		}
		c.issue(b)
		n += got
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// plan validates i (core.Check) and makes the duplicates of its fds that
// the request will need after Submit returns: a stream's fd, which kaio
// itself uses for later transfers, and the eventfd kaio signals. For
// other fds the kernel takes its own reference when the request is issued,
// inside Submit.
func (c *Ctx[P]) plan(i *core.Iocb, fi *core.FdInfo, pl *plan) error {
	if err := core.Check(i, fi); err != nil {
		return err
	}
	*pl = plan{src: i.Fd, fd: -1, resfd: -1}
	if i.Op != core.OpNoop {
		pl.src = fi.Fd
		pl.seekable = fi.Seekable()
		pl.stream = (i.Op.Reads() || i.Op.Writes()) && !pl.seekable
	}
	var err error
	if pl.stream {
		if pl.fd, err = unix.FcntlInt(uintptr(pl.src), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return err
		}
	}
	if i.Flags&core.FlagResFd != 0 {
		if pl.resfd, err = unix.FcntlInt(uintptr(i.ResFd), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			pl.close()
			return err
		}
	}
	return nil
}

// close closes the duplicates of a plan whose iocb was not taken.
func (pl *plan) close() {
	if pl.fd >= 0 {
		unix.Close(pl.fd)
	}
	if pl.resfd >= 0 {
		unix.Close(pl.resfd)
	}
}

// batch is the requests of one Submit chunk on their way to the kernel.
// Batches are kept on a free list under Mu, in the heap: a stack array
// handed to Kernel.Issue, an interface method, would escape, and cost an
// allocation per Submit.
type batch[P any] struct {
	reqs  [batchMax]*Req[P] // reqs[j] for iocbs[j]
	issue [batchMax]*Req[P] // those to issue, the first n
	gens  [batchMax]uint64  // their incarnations when taken
	n     int
	next  *batch[P]
}

// getBatchLocked returns an empty batch. Hold Mu.
func (c *Ctx[P]) getBatchLocked() *batch[P] {
	b := c.freeBatch
	if b == nil {
		return new(batch[P])
	}
	c.freeBatch = b.next
	b.next, b.n = nil, 0
	return b
}

// take takes a request for each iocb (a ring slot unless sync, and the
// iocb's claim; b.reqs[j] for iocbs[j]) and prepares it, in one critical
// section. It returns the batch, whose b.issue holds those to issue (the
// others finished at Prep), how many it took, and why it stopped short:
// EINVAL (context destroyed, iocb already in flight) or EAGAIN (ring full).
// The caller hands the batch to issue.
func (c *Ctx[P]) take(iocbs []*core.Iocb, plans []plan, sync bool) (b *batch[P], got int, err error) {
	c.Mu.Lock()
	defer c.unlockAndWake()
	b = c.getBatchLocked()
	if c.dead {
		return b, 0, core.ErrDestroyed()
	}
	for j, i := range iocbs {
		var r *Req[P]
		if sync {
			r = c.getSyncLocked()
		} else {
			if !c.events.Reserve() {
				return b, got, c.events.ErrFull()
			}
			r = c.free
		}
		if !i.Take(&r.claim) {
			if sync {
				c.putSyncLocked(r)
			} else {
				c.events.Release()
			}
			return b, got, core.ErrInFlight()
		}
		if !sync {
			c.free = r.next
		}
		pl := &plans[j]
		r.next = nil
		r.gen++
		r.Tag = withGen(r.Tag, r.gen)
		r.Iocb = i
		r.Fd, r.ownFd = pl.src, pl.fd >= 0
		if r.ownFd {
			r.Fd = pl.fd
		}
		r.ResFd = pl.resfd
		r.Stream = pl.stream
		r.NoWait = i.RWFlags&unix.RWF_NOWAIT != 0
		r.Written = 0
		r.cancelled, r.issued, r.asking, r.reask, r.done = false, false, 0, false, false
		r.state = stKernel
		c.pending++
		c.inflight++
		c.stats.Submitted++
		if r.ResFd >= 0 {
			c.resfdReqs++
			c.startReaperLocked()
		}
		got++
		b.reqs[j] = r
		if done, res := c.K.Prep(r, pl.seekable); done {
			c.pending--
			c.completeLocked(r, res)
			c.wakeLocked()
			continue
		}
		b.issue[b.n], b.gens[b.n] = r, r.gen
		b.n++
	}
	return b, got, nil
}

// issue hands reqs, taken and prepared, to the kernel; a request the
// kernel refuses completes with its errno. Then it asks the kernel to
// cancel those that Cancel or Destroy marked while they were being issued
// (a kernel cannot cancel what it has not been given). Call without Mu.
func (c *Ctx[P]) issue(b *batch[P]) {
	reqs, gens := b.issue[:b.n], &b.gens // once issued, a request may complete and be reused at once
	rest, done := reqs, 0
	for len(rest) > 0 {
		n, e := c.K.Issue(rest)
		if n == len(rest) {
			break
		}
		c.Mu.Lock()
		r := rest[n]
		c.pending--
		c.completeLocked(r, -int64(e))
		c.wakeLocked()
		c.Mu.Unlock()
		// The refused one is done: note it so that the loop below skips it.
		gens[done+n] = 0
		rest, done = rest[n+1:], done+n+1
	}
	c.Mu.Lock()
	var ask [batchMax]*CancelOp[P]
	nask := 0
	for j, r := range reqs {
		if gens[j] == 0 || r.gen != gens[j] || r.state != stKernel {
			continue // refused, or completed (and perhaps reused) already
		}
		r.issued = true
		if r.cancelled && r.asking == 0 {
			if op := c.askLocked(r, false); op != nil {
				ask[nask] = op
				nask++
			}
		}
	}
	if c.issueWaits > 0 {
		c.wakeLocked() // a Cancel waits for one of them
	}
	clear(b.reqs[:])
	clear(reqs)
	b.next, c.freeBatch = c.freeBatch, b
	c.issueReissuesLocked() // left by a drain inside Issue (DrainKernelLocked)
	c.unlockAndWake()
	for _, op := range ask[:nask] {
		c.sendCancel(op)
	}
}

// getSyncLocked returns a free sync request, making one if none is free.
func (c *Ctx[P]) getSyncLocked() *Req[P] {
	r := c.freeSync
	if r == nil {
		r = &Req[P]{sync: true}
		r.claim = core.Claim{Owner: c, Index: len(c.reqs) + len(c.syncs)}
		r.Tag = Tag(KindSync, len(c.syncs))
		c.syncs = append(c.syncs, r)
		return r
	}
	c.freeSync = r.next
	return r
}

func (c *Ctx[P]) putSyncLocked(r *Req[P]) {
	r.Iocb = nil
	r.next = c.freeSync
	c.freeSync = r
}

// Do implements core.Backend's Do: the request goes to the kernel under a
// sync tag, uses no slot, and the caller waits for its completion.
func (c *Ctx[P]) Do(i *core.Iocb) core.Event { return c.DoHint(i, nil) }

// DoHint is Do with what the caller knows (core.FdInfo.Use); hint may be
// nil.
func (c *Ctx[P]) DoHint(i *core.Iocb, hint *core.FdInfo) core.Event {
	var fi core.FdInfo
	fi.Reset()
	fi.Use(hint)
	var pl [1]plan
	if err := c.plan(i, &fi, &pl[0]); err != nil {
		return core.ErrEvent(i, err)
	}
	b, _, err := c.take([]*core.Iocb{i}, pl[:], true)
	r := b.reqs[0]
	c.issue(b)
	if err != nil {
		pl[0].close()
		return core.ErrEvent(i, err)
	}
	c.Mu.Lock()
	c.waitUntilLocked(waitFor{done: &r.done})
	ev := core.Event{Data: i.Data, Obj: i, Res: r.res}
	c.putSyncLocked(r)
	c.Mu.Unlock()
	return ev
}

// CompletedLocked takes in the kernel's completion of r with res: a
// stream may go on (Continue); anything else completes. Hold Mu.
func (c *Ctx[P]) CompletedLocked(r *Req[P], res int64) {
	if invariants.Enabled {
		invariants.Check(r.state == stKernel, "kernel completion of a request not in the kernel")
	}
	c.pending--
	c.continueLocked(r, res, false)
}

// continueLocked is what follows an operation of r that ended with res:
// the end of r, its next operation, or a blocking transfer. Hold Mu.
func (c *Ctx[P]) continueLocked(r *Req[P], res int64, blocked bool) {
	if !r.Stream {
		c.completeLocked(r, res)
		return
	}
	next, final := c.K.Continue(r, res, blocked)
	switch {
	case next == Finish:
		c.completeLocked(r, final)
	case r.cancelled || c.dead:
		c.completeLocked(r, c.cancelResult(r))
	case next == Again:
		r.state = stReissue
		r.next = c.reissue
		c.reissue = r
	case next == Blocking:
		r.state = stBlocked
		c.pending++
		gen := r.gen
		c.Go(func() {
			res := c.K.Block(r)
			c.Mu.Lock()
			if invariants.Enabled {
				invariants.Check(r.gen == gen && r.state == stBlocked, "blocking transfer of a request that moved on")
			}
			c.pending--
			r.state = stKernel
			c.continueLocked(r, res, true)
			c.wakeLocked()
			c.issueReissuesLocked()
			c.unlockAndWake()
		})
	}
}

// cancelResult is what a cancelled request completes with: the bytes a
// stream moved before, or -ECANCELED.
func (c *Ctx[P]) cancelResult(r *Req[P]) int64 {
	if r.Written > 0 {
		return r.Written
	}
	return -int64(unix.ECANCELED)
}

// completeLocked ends r with res: its pins are dropped, its claim
// released, its event posted (or, for Do, its result kept), then its
// eventfd signalled, under Mu: a reaper must see neither the event before
// the signal is counted nor the signal before the event. Hold Mu.
func (c *Ctx[P]) completeLocked(r *Req[P], res int64) {
	if invariants.Enabled {
		invariants.Check(r.state != stFree && r.asking >= 0, "completion of a request that is free")
	}
	if r.reask { // the kernel ended it while Destroy was to ask again
		unlinkLocked(&c.reask, r)
		r.reask = false
	}
	if r.cancelled {
		c.endedByCancelLocked(r)
	}
	c.K.Release(r)
	iocb := r.Iocb
	iocb.Release(&r.claim)
	r.state = stFree
	c.inflight--
	c.stats.Completed++
	if res == -int64(unix.ECANCELED) {
		c.stats.Cancelled++
	}
	if r.ownFd {
		unix.Close(r.Fd)
		r.ownFd = false
	}
	r.Fd = -1
	resfd := r.ResFd
	r.ResFd = -1
	if r.sync {
		r.done, r.res = true, res
	} else {
		r.Iocb = nil
		c.events.Post(core.Event{Data: iocb.Data, Obj: iocb, Res: res})
		r.next = c.free
		c.free = r
	}
	if resfd >= 0 {
		c.resfdReqs--
		core.SignalEventfd(resfd)
		unix.Close(resfd)
	}
}

// Stats implements core.Backend's Stats.
func (c *Ctx[P]) Stats() core.Stats {
	c.Mu.Lock()
	s := c.stats
	s.InFlight = c.inflight
	c.Mu.Unlock()
	return s
}

// InternalStartLocked counts an operation of the engine's own (a wake-up
// NOP) whose completion the drain will hand to InternalDoneLocked. Hold Mu.
func (c *Ctx[P]) InternalStartLocked() { c.pending++ }

// InternalDoneLocked takes in the completion of an operation of the
// engine's own. Hold Mu.
func (c *Ctx[P]) InternalDoneLocked() { c.pending-- }

// Counters are a context's bookkeeping, for the schedule explorer's checks.
type Counters struct {
	InFlight, Pending, Reserved, Unreaped int
	Dead, Closed                          bool
}

// CountersStopped returns the counters without Mu, for the explorer
// between steps, when every thread is stopped.
func (c *Ctx[P]) CountersStopped() Counters {
	return Counters{InFlight: c.inflight, Pending: c.pending, Reserved: c.events.Reserved(), Unreaped: c.events.Len(), Dead: c.dead, Closed: c.closed}
}

// ClosedLocked reports whether Close was called. Hold Mu.
func (c *Ctx[P]) ClosedLocked() bool { return c.closed }

// DropStaleClaim implements core.ClaimOwner.
func (c *Ctx[P]) DropStaleClaim(cl *core.Claim, i *core.Iocb) {
	c.Mu.Lock()
	if c.requestLocked(cl).Iocb != i {
		i.Release(cl)
	}
	c.Mu.Unlock()
}
