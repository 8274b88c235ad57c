//go:build linux

package kctx

import (
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/invariants"
	"golang.org/x/sys/unix"
)

// CancelOp is one request to the kernel to cancel a request. Its tag
// (KindCancel) lets an engine whose kernel answers later (io_uring's
// ASYNC_CANCEL) hand the answer back to AnsweredLocked. CancelOps are kept
// and reused.
type CancelOp[P any] struct {
	// Tag is what the kernel hands back with the answer.
	Tag uint64
	// TargetTag is the tag of the request to cancel, incarnation included.
	TargetTag uint64
	target    *Req[P]
	gen       uint64 // the target's incarnation when asked
	user      bool   // a Cancel call waits for the answer; else Destroy's
	done      bool
	answer    Answer
	// ended: the target ended because it was marked cancelled (a stream
	// that did not go on) before its Cancel read the answer.
	ended bool
	next  *CancelOp[P]
}

// Target is the request to cancel. Only a SyncCancel engine may read it,
// under Mu, when it asks; another reads only TargetTag (without Mu the
// request may complete and be reused meanwhile).
func (op *CancelOp[P]) Target() *Req[P] { return op.target }

// OpByTag returns the cancel operation a KindCancel tag names. Hold Mu.
func (c *Ctx[P]) OpByTag(tag uint64) *CancelOp[P] { return c.ops[int(uint32(tag))] }

// askLocked asks the kernel to cancel r: r is marked cancelled first (a
// completion the cancel brings about may be taken in before the answer is,
// and a stream must not go on then). A SyncCancel engine is asked here, and
// askLocked returns nil, or for a user's cancel the answered op; else it
// returns the op to hand to sendCancel after unlocking. Hold Mu.
func (c *Ctx[P]) askLocked(r *Req[P], user bool) *CancelOp[P] {
	op := c.freeOps
	if op == nil {
		op = &CancelOp[P]{Tag: Tag(KindCancel, len(c.ops))}
		c.ops = append(c.ops, op)
	} else {
		c.freeOps = op.next
	}
	op.next = nil
	op.target, op.gen, op.user, op.done, op.answer, op.ended = r, r.gen, user, false, Later, false
	op.TargetTag = r.Tag
	r.cancelled = true
	r.asking++
	c.pending++ // the answer is a completion to wait for, whether the kernel gives it now or later
	if c.K.SyncCancel() {
		c.AnsweredLocked(op, c.K.AskCancel(op))
		if !user {
			return nil // put back already
		}
	}
	return op
}

// sendCancel asks the kernel about op, which askLocked returned (not yet
// answered); an answer given at once is taken in here. Call without Mu.
func (c *Ctx[P]) sendCancel(op *CancelOp[P]) {
	if a := c.K.AskCancel(op); a != Later {
		c.Mu.Lock()
		c.AnsweredLocked(op, a)
		c.unlockAndWake()
	}
}

// AnsweredLocked takes in the kernel's answer to op. A request that the
// kernel did not cancel is still in flight (or its completion is on its
// way): under Destroy it is asked again later. Hold Mu.
func (c *Ctx[P]) AnsweredLocked(op *CancelOp[P], a Answer) {
	if invariants.Enabled {
		invariants.Check(!op.done && a != Later, "cancel answered twice, or with Later")
	}
	c.pending--
	op.done, op.answer = true, a
	r := op.target
	if r.gen == op.gen {
		r.asking--
		if a != Cancelled && c.dead && r.state == stKernel && r.asking == 0 && !r.reask {
			r.reask = true
			r.next = c.reask
			c.reask = r
		}
	}
	if !op.user {
		c.putOpLocked(op)
	}
	c.wakeLocked()
}

func (c *Ctx[P]) putOpLocked(op *CancelOp[P]) {
	op.target = nil
	op.next = c.freeOps
	c.freeOps = op
}

// cancelRetries bounds how often Cancel asks again after NotFound for a
// request still in flight (io_uring between a poll wake-up and its retry),
// before it answers EAGAIN: the request cannot be cancelled now.
const cancelRetries = 32

// Cancel implements core.Backend's Cancel.
func (c *Ctx[P]) Cancel(i *core.Iocb) error {
	cl := i.ClaimedBy(c)
	if cl == nil {
		return unix.EINVAL
	}
	c.Mu.Lock()
	defer c.unlockAndWake()
	if c.dead || i.Claimed() != cl {
		return unix.EINVAL
	}
	r := c.requestLocked(cl)
	if r.Iocb != i || r.state == stFree {
		return unix.EINVAL
	}
	gen := r.gen
	for attempt := 0; ; attempt++ {
		switch {
		case r.gen != gen || r.state == stFree:
			return unix.EINVAL // it completed meanwhile: its event is its own
		case r.state == stReissue:
			// Between two operations of a stream: end it here.
			c.unlinkReissueLocked(r)
			c.completeLocked(r, c.cancelResult(r))
			c.wakeLocked()
			return nil
		case r.state == stBlocked:
			return unix.EAGAIN // a blocking transfer is under way
		case r.cancelled:
			// Another Cancel is asking (and asks again on NotFound), or
			// the kernel cancelled it already and its -ECANCELED is on
			// its way: asking again would find nothing (Linux AIO posts
			// a cancelled poll's event from a workqueue) and, after its
			// retries, say EAGAIN for a request whose event comes.
			// uncancelLocked clears the mark when no cancel took.
			return nil
		case !r.issued:
			// Being issued: nothing can be cancelled before the kernel
			// has it. Wait for the issuer, then ask as for any other
			// request. (Handing the ask to the issuer instead loses the
			// request when io_uring misses it: the issuer asks once,
			// and nobody asks again. aio-race's k-cancelsubmit finds
			// that schedule.)
			c.issueWaits++
			c.waitUntilLocked(waitFor{issued: &r.issued, state: &r.state, gen: &r.gen, was: gen})
			c.issueWaits--
			continue
		}
		op := c.askLocked(r, true)
		if !op.done {
			c.Mu.Unlock()
			a := c.K.AskCancel(op)
			c.Mu.Lock()
			if a != Later {
				c.AnsweredLocked(op, a)
			}
		}
		c.waitUntilLocked(waitFor{done: &op.done})
		a, ended := op.answer, op.ended
		c.putOpLocked(op)
		switch {
		case a == Cancelled, ended:
			return nil
		case a == Busy:
			c.uncancelLocked(r, gen)
			return unix.EAGAIN
		}
		c.uncancelLocked(r, gen)
		// NotFound: done already (its completion may be waiting to be
		// taken in), or not findable right now. Take in what the kernel
		// posted and look again.
		c.drainIfAllowedLocked()
		if attempt == cancelRetries {
			if r.gen == gen && r.state != stFree {
				return unix.EAGAIN
			}
			return unix.EINVAL
		}
		if attempt > 0 {
			c.Mu.Unlock()
			c.Pause(time.Duration(attempt) * 10 * time.Microsecond)
			c.Mu.Lock()
		}
	}
}

// uncancelLocked takes back the mark askLocked put on incarnation gen of r
// when the kernel did not cancel it, so that a stream goes on as Cancel's
// EAGAIN says; not under Destroy, nor while another cancel is asked. Hold
// Mu.
func (c *Ctx[P]) uncancelLocked(r *Req[P], gen uint64) {
	if r.gen == gen && r.state != stFree && !c.dead && r.asking == 0 {
		r.cancelled = false
	}
}

// endedByCancelLocked tells the cancels asked for r that it ended because
// it was marked cancelled. Hold Mu.
func (c *Ctx[P]) endedByCancelLocked(r *Req[P]) {
	for _, op := range c.ops {
		if op.target == r && op.gen == r.gen {
			op.ended = true
		}
	}
}

// unlinkReissueLocked takes r off the reissue list. Hold Mu.
func (c *Ctx[P]) unlinkReissueLocked(r *Req[P]) { unlinkLocked(&c.reissue, r) }

// unlinkLocked takes r off the list at head. Hold Mu.
func unlinkLocked[P any](head **Req[P], r *Req[P]) {
	for p := head; *p != nil; p = &(*p).next {
		if *p == r {
			*p = r.next
			r.next = nil
			return
		}
	}
}

// Destroy implements core.Backend's Destroy.
func (c *Ctx[P]) Destroy() error {
	c.Mu.Lock()
	if c.dead {
		c.Mu.Unlock()
		return unix.EINVAL
	}
	c.dead = true
	c.waiters.WakeAll()
	// Streams between two operations end now.
	for c.reissue != nil {
		r := c.reissue
		c.reissue = r.next
		r.next = nil
		c.completeLocked(r, c.cancelResult(r))
	}
	// Everything in the kernel is asked to end. A request still being
	// issued is marked; its issuer asks once Issue returns.
	var ask []*CancelOp[P]
	mark := func(r *Req[P]) {
		if r.state != stKernel {
			return
		}
		r.cancelled = true
		if r.issued && r.asking == 0 {
			if op := c.askLocked(r, false); op != nil {
				ask = append(ask, op)
			}
		}
	}
	for i := range c.reqs {
		mark(&c.reqs[i])
	}
	for _, r := range c.syncs {
		mark(r)
	}
	c.unlockAndWake()
	if c.kwWaiting() {
		c.K.WakeKernel() // the goroutine in the kernel has to leave for Destroy
	}
	for _, op := range ask {
		c.sendCancel(op)
	}

	c.Mu.Lock()
	var reask []*Req[P]
	pause := 20 * time.Microsecond
	for {
		c.waitUntilLocked(waitFor{destroy: true})
		if c.reask == nil {
			break
		}
		// Take in what completed first: a request on the reask list
		// may be done by now (waitUntilLocked returned at once, without
		// a turn in the kernel).
		c.drainIfAllowedLocked()
		// The kernel did not cancel some requests that are still in
		// it. Give them a moment, then ask again.
		ask = ask[:0]
		for c.reask != nil {
			r := c.reask
			c.reask = r.next
			r.next, r.reask = nil, false
			if r.state == stKernel && r.asking == 0 {
				reask = append(reask, r)
			}
		}
		c.Mu.Unlock()
		c.Pause(pause)
		pause = min(2*pause, 10*time.Millisecond)
		c.Mu.Lock()
		for _, r := range reask {
			if r.state == stKernel && r.asking == 0 {
				if op := c.askLocked(r, false); op != nil {
					ask = append(ask, op)
				}
			}
		}
		reask = reask[:0]
		c.Mu.Unlock()
		for _, op := range ask {
			c.sendCancel(op)
		}
		c.Mu.Lock()
	}
	// Nothing is pending, nobody is in the kernel, the eventfd reaper has
	// returned.
	c.closed = true
	c.Mu.Unlock()
	c.K.Close()
	if invariants.Enabled {
		c.Mu.Lock()
		invariants.Check(c.inflight == 0 && c.pending == 0 && c.reissue == nil, "destroyed context with requests left")
		c.Mu.Unlock()
	}
	return nil
}

// kwWaiting reports whether a goroutine sleeps in the kernel.
func (c *Ctx[P]) kwWaiting() bool {
	c.Mu.Lock()
	kw := c.kw != nil
	c.Mu.Unlock()
	return kw
}
