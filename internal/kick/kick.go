// Package kick is the kick protocol of kaio's retry engine: the RFC "Races
// in aio call back path" (Suzuki K P, July 2005) fix, with the 2.6.14
// contract. It is isolated here, behind the lock package's primitives, so
// that internal/explore can run this very code under every schedule.
//
// Lock order:
//
//	waitq.Queue.Mu   (a wait queue's lock; the waker holds it)
//	  → Ctx.Mu       (ctx_lock)
//
// Nothing holding Ctx.Mu takes a queue lock. The one place that needs both
// and does not start from the queue (cancel and destroy, which find the
// queue through the request) is UnlinkAndKick: it reads the queue under
// Ctx.Mu, drops Ctx.Mu, then takes the queue lock and Ctx.Mu in order and
// checks that nothing changed in between (the request's generation and its
// queue).
//
// The protocol's invariants, each checked under the "invariants" build tag:
//
//  1. A request's wait linkage, its kicked flag and its place on the run list
//     change only together, in one critical section under Ctx.Mu (kick), or
//     under Ctx.Mu by the runner (Begin, EndWait).
//  2. A waker's critical section is its last touch of the request: after
//     Ctx.Mu is released the request may be completed and reused.
//  3. The runner's end-of-iteration decision ("no kick owed → kick myself;
//     kicked → requeue") is one critical section.
//  4. A request is on the run list at most once, is never on it while a wait
//     is linked or while it runs, and is never kicked or queued once done.
//  5. A retry returns "wait" only when exactly one future kick is owed: it
//     linked a wait entry (whose wake will kick), handed the request to an
//     offload worker (whose completion will kick), or handed it to the
//     kernel (HandOffLocked: Linux AIO, whose completion will kick).
package kick

import (
	"syscall" // for ECANCELED: x/sys/unix does not build on Windows, where aio-race runs too

	"github.com/kaio-go/kaio/internal/invariants"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/waitq"
)

// Ops are the engine's parts of a run: the retry method, completion, and
// waking a kick worker.
type Ops interface {
	// Retry does as much of r as it can without blocking. It returns the
	// result (wait false), or wait true when exactly one future kick is
	// owed (LinkWait or Offload succeeded) or when it made progress without
	// a wait (then it returns wait true with no kick owed, and the runner
	// kicks the request itself).
	Retry(r *Req) (res int64, wait bool)
	// Complete posts r's event; it must call Ctx.DoneLocked under Ctx.Mu.
	Complete(r *Req, res int64)
	// Signal wakes a kick worker: a request was put on the run list.
	Signal()
}

// Action is what the caller of a kick must do after releasing the locks.
type Action uint8

const (
	None     Action = iota // nothing
	Queued                 // r went onto the run list: Signal a kick worker
	WakeSync               // r is a sync request whose goroutine sleeps: wake its Note
)

// Req is the protocol's part of a request (the kernel's kiocb flags, wait
// entry and run-list link).
type Req struct {
	// Wait is the request's one wait entry. Its linkage (Wait.Queue()) is
	// written with both its queue's Mu and Ctx.Mu held.
	Wait waitq.Entry
	// Note wakes the goroutine of a sync request (Do).
	Note lock.Note
	// Owner is the engine's request, for the engine's Ops.
	Owner any
	// Sync marks a sync request (the kernel's is_sync_kiocb). Set before
	// the request is first run, never changed while in use.
	Sync bool

	// All of the following are guarded by Ctx.Mu.

	// gen counts the request's incarnations, so that a canceller that
	// dropped Ctx.Mu can tell the request was reused.
	gen uint64
	// owed: a future kick is owed (a wait entry is linked, or an offload
	// worker or the kernel holds the request). Cleared by that kick.
	owed bool
	// busy: an offload worker is inside a blocking syscall for the
	// request, or the kernel has it (HandOffLocked); it cannot be cancelled
	// until that kick.
	busy bool
	// kicked is the kernel's KIF_KICKED: another iteration is needed.
	kicked bool
	// cancelled is KIF_CANCELLED: the next iteration completes with
	// -ECANCELED instead of retrying.
	cancelled bool
	// running is the kernel's poisoned ki_run_list: an iteration is under
	// way, so kicks set kicked and leave the queueing to the runner.
	running bool
	// queued: on the run list (at most once).
	queued bool
	// done: completed; no further kick, queue or run may touch it.
	done bool
	next *Req // run list link
	// kicks counts the kicks that set kicked, this incarnation's and the
	// earlier ones' (the explorer checks that none comes after done).
	kicks uint64
}

// Ctx is the protocol's part of a context: ctx_lock and the run list.
type Ctx struct {
	// Mu is ctx_lock. It guards the run list, every Req's flags and links
	// (see Req), and whatever the engine adds under it (ring, active list).
	Mu lock.Mutex
	// guarded by Mu:
	runHead, runTail *Req
	kicks            uint64 // kicks that set kicked (Stats)
	// Broken replaces parts of the protocol with broken variants, for
	// the schedule explorer's sabotage tests. Nil in production; set
	// before first use.
	Broken *Broken
}

// Broken holds broken variants of the protocol's steps (see Ctx.Broken).
type Broken struct {
	Wake    func(c *Ctx, q *waitq.Queue, r *Req) Action
	EndWait func(c *Ctx, r *Req) Action
}

// KicksLocked returns the number of effective kicks. Hold Mu.
func (c *Ctx) KicksLocked() uint64 { return c.kicks }

// Snapshot is a request's protocol state, for the schedule explorer's
// checks (internal/explore) and tests.
type Snapshot struct {
	Gen, Kicks                                                   uint64
	Linked, Owed, Busy, Kicked, Cancelled, Running, Queued, Done bool
}

// SnapshotLocked returns r's state. Hold Mu (or be the explorer between
// steps, when every goroutine of the protocol is stopped).
func (r *Req) SnapshotLocked() Snapshot {
	return Snapshot{Gen: r.gen, Kicks: r.kicks, Linked: r.Wait.Queue() != nil, Owed: r.owed, Busy: r.busy, Kicked: r.kicked,
		Cancelled: r.cancelled, Running: r.running, Queued: r.queued, Done: r.done}
}

// RunListLocked appends the run list to dst, at most max requests (so that
// a corrupt, cyclic list cannot loop). Hold Mu, as for SnapshotLocked.
func (c *Ctx) RunListLocked(dst []*Req, max int) []*Req {
	for r := c.runHead; r != nil && max > 0; r = r.next {
		dst = append(dst, r)
		max--
	}
	return dst
}

// ResetLocked prepares r for a new incarnation. Hold Mu (or own r exclusively).
func (c *Ctx) ResetLocked(r *Req) {
	if invariants.Enabled {
		invariants.Check(r.Wait.Queue() == nil && !r.queued && !r.owed && !r.busy, "reset of a request still waiting or queued")
	}
	r.gen++
	r.kicked, r.cancelled, r.queued, r.done, r.busy, r.owed = false, false, false, false, false, false
	r.running = true // the submitter runs the first iteration
}

// GenLocked returns r's incarnation. Hold Mu.
func (r *Req) GenLocked() uint64 { return r.gen }

// pushLocked appends r to the run list.
func (c *Ctx) pushLocked(r *Req) {
	if invariants.Enabled {
		invariants.Check(!r.queued, "request queued twice")
		invariants.Check(!r.done, "queue of a completed request")
		invariants.Check(!r.running, "queue of a running request")
		invariants.Check(r.Wait.Queue() == nil, "queue of a request with a wait linked")
	}
	r.queued = true
	r.next = nil
	if c.runTail != nil {
		c.runTail.next = r
	} else {
		c.runHead = r
	}
	c.runTail = r
}

// kickLocked is kick_iocb with the RFC's fix: the wait entry comes off its
// queue, KICKED goes on, and the request goes onto the run list (unless it
// is running: the runner requeues it), all in the caller's one critical
// section. Hold Ctx.Mu, and the queue lock of r's wait entry if it is
// linked.
func (c *Ctx) kickLocked(r *Req) Action {
	if invariants.Enabled {
		invariants.Check(!r.done, "kick of a completed request")
	}
	if q := r.Wait.Queue(); q != nil {
		q.RemoveLocked(&r.Wait)
	}
	r.owed = false
	r.busy = false
	if r.kicked {
		return None
	}
	r.kicked = true
	c.kicks++
	r.kicks++
	if r.running || r.queued {
		return None
	}
	return c.requeueLocked(r)
}

// requeueLocked sends r, kicked and not running, to be run again: the
// sync caller's own loop (WakeSync), or the run list (Queued). Hold Mu.
func (c *Ctx) requeueLocked(r *Req) Action {
	if r.Sync {
		return WakeSync // the caller loops without sleeping
	}
	c.pushLocked(r)
	return Queued
}

// Wake is the wake callback of a request's wait entry (aio_wake_function):
// it runs with q.Mu held and kicks r. After it returns, the waker must not
// touch r: use Finish with the returned action.
func (c *Ctx) Wake(q *waitq.Queue, r *Req) Action {
	if c.Broken != nil && c.Broken.Wake != nil {
		return c.Broken.Wake(c, q, r)
	}
	c.Mu.Lock()
	if invariants.Enabled {
		invariants.Check(r.Wait.Queue() == q, "wake of a wait entry not linked on the waking queue")
	}
	a := c.kickLocked(r)
	c.Mu.Unlock()
	return a
}

// Kick kicks r from a source that holds no queue lock: an offload worker
// whose syscall finished, or the reaper of a request handed to the kernel.
// The worker's (the kernel's) hold on r ends here.
func (c *Ctx) Kick(r *Req) Action {
	c.Mu.Lock()
	a := c.KickLocked(r)
	c.Mu.Unlock()
	return a
}

// KickLocked is Kick with Mu held, for a completer that kicks a batch of
// requests in one critical section (the Linux AIO reaper). The critical
// section is each kick's last touch of its request, as for Kick.
func (c *Ctx) KickLocked(r *Req) Action {
	if invariants.Enabled {
		invariants.Check(r.busy && r.owed && r.Wait.Queue() == nil, "worker kick of a request it does not hold")
	}
	return c.kickLocked(r)
}

// Finish carries out a kick's action after every lock is released. For
// WakeSync it touches only the note: the sync request's goroutine sleeps on
// it and cannot go on (and reuse r) before this wake-up. It inlines, so
// that the common None (a request that finished) costs no call.
func Finish(a Action, note *lock.Note, ops Ops) {
	if a != None {
		finish(a, note, ops)
	}
}

func finish(a Action, note *lock.Note, ops Ops) {
	switch a {
	case Queued:
		ops.Signal()
	case WakeSync:
		note.Wakeup()
	}
}

// LinkWait links r's wait entry on q with mask (the kernel's
// add_wait_queue in a retry method). It fails when r was cancelled: the
// retry must then return -ECANCELED instead of waiting, so that a cancel
// that found nothing to unlink is not lost.
func (c *Ctx) LinkWait(r *Req, q *waitq.Queue, mask uint32) bool {
	return c.LinkWaitThen(r, q, mask, nil)
}

// LinkWaitThen is LinkWait that also calls linked, when not nil, in the
// critical section that links the entry (holding q.Mu and Mu): what it
// records about the entry is true from the moment the entry can be seen.
func (c *Ctx) LinkWaitThen(r *Req, q *waitq.Queue, mask uint32, linked func()) bool {
	q.Mu.Lock()
	c.Mu.Lock()
	ok := !r.cancelled
	if ok {
		if invariants.Enabled {
			invariants.Check(r.running && !r.owed && !r.done, "wait linked by a request that is not running")
		}
		r.Wait.Mask = mask
		q.AddLocked(&r.Wait)
		r.owed = true
		if linked != nil {
			linked()
		}
	}
	c.Mu.Unlock()
	q.Mu.Unlock()
	return ok
}

// Unlink takes r's wait entry off its queue if it is still linked, without
// kicking: a retry that registered a wait and then found it need not wait
// uses it before returning a result. It reports whether the entry was still
// linked (if not, its wake already kicked r, and r's kicked flag says so).
func (c *Ctx) Unlink(r *Req) bool {
	c.Mu.Lock()
	q := r.Wait.Queue()
	c.Mu.Unlock()
	if q == nil {
		return false
	}
	// r is running, so nobody else relinks its entry: q stays valid.
	q.Mu.Lock()
	c.Mu.Lock()
	linked := r.Wait.Queue() == q
	if linked {
		q.RemoveLocked(&r.Wait)
		r.owed = false
	}
	c.Mu.Unlock()
	q.Mu.Unlock()
	return linked
}

// TakeOffloadLocked is an offload worker taking r off the offload queue q:
// the entry is unlinked but the kick stays owed, and r becomes busy (not
// cancellable). Hold q.Mu; it takes Ctx.Mu.
func (c *Ctx) TakeOffloadLocked(q *waitq.Queue, r *Req) {
	c.Mu.Lock()
	if invariants.Enabled {
		invariants.Check(r.Wait.Queue() == q && r.owed && !r.done, "offload of a request not waiting on the offload queue")
	}
	q.RemoveLocked(&r.Wait)
	r.busy = true
	c.Mu.Unlock()
}

// HandOffLocked hands r, running its retry, to a completer outside the
// protocol that will Kick it exactly once when it is done (Linux AIO: the
// kernel has the request's own iocb, and its completion kicks). It is an
// offload worker's TakeOffloadLocked without a queue: the kick is owed and
// r is busy, not cancellable, until then. It fails when r was cancelled:
// the retry must then return -ECANCELED instead of waiting, as with
// LinkWait. Hold Mu, so that the retry can queue r for its completer in
// the same critical section.
func (c *Ctx) HandOffLocked(r *Req) bool {
	if r.cancelled {
		return false
	}
	if invariants.Enabled {
		invariants.Check(r.running && !r.owed && !r.done && r.Wait.Queue() == nil, "hand-off of a request that is not running")
	}
	r.owed = true
	r.busy = true
	return true
}

// Begin starts an iteration (the first half of aio_run_iocb): KICKED off,
// running on. It reports whether r was cancelled.
func (c *Ctx) Begin(r *Req) (cancelled bool) {
	c.Mu.Lock()
	cancelled = c.beginLocked(r)
	c.Mu.Unlock()
	return cancelled
}

func (c *Ctx) beginLocked(r *Req) (cancelled bool) {
	if invariants.Enabled {
		invariants.Check(!r.done && !r.queued && !r.owed, "run of a request that is done, queued or waiting")
	}
	r.kicked = false
	r.running = true
	return r.cancelled
}

// TakeLocked pops the run list's head and begins its iteration in the
// caller's critical section: Pop and Begin as one, for a completer that
// kicks a batch and runs what it queued without taking Mu per request.
// It returns nil when the list is empty; otherwise the caller must go on
// with RunBegun (after releasing Mu), as Run does after Begin.
func (c *Ctx) TakeLocked() (r *Req, cancelled bool) {
	r = c.PopLocked()
	if r == nil {
		return nil, false
	}
	return r, c.beginLocked(r)
}

// EndWait ends an iteration whose retry returned "wait", in one critical
// section (the RFC's fix of the unlocked self-kick): if no kick is owed the
// retry made progress without a wait, so r kicks itself; running goes off;
// if r was kicked (by itself or by a waker during the retry) it goes back on
// the run list, or, for a sync request, the caller runs it again.
func (c *Ctx) EndWait(r *Req) (again Action) {
	if c.Broken != nil && c.Broken.EndWait != nil {
		return c.Broken.EndWait(c, r)
	}
	c.Mu.Lock()
	if !r.owed {
		r.kicked = true
	}
	r.running = false
	a := None
	if r.kicked {
		a = c.requeueLocked(r)
	}
	c.Mu.Unlock()
	return a
}

// Run is aio_run_iocb: one iteration of r, from the run list or from the
// submitter (which calls it with r already marked running by ResetLocked).
// It returns the action left to do (Queued: signal a worker; WakeSync: the
// sync caller must run again; None: r completed or waits).
func (c *Ctx) Run(r *Req, ops Ops) Action {
	if c.Begin(r) {
		ops.Complete(r, -int64(syscall.ECANCELED))
		return None
	}
	res, wait := ops.Retry(r)
	if !wait {
		ops.Complete(r, res)
		return None
	}
	return c.EndWait(r)
}

// RunFirst is Run for a request's first iteration, on the submitter's
// goroutine, right after ResetLocked marked it running. It skips Begin's
// critical section (nothing can have kicked a request that never waited,
// and a Cancel that comes in between is seen by LinkWait, which refuses to
// wait, or by the next iteration), and it leaves completion to the caller,
// which posts a batch of first-iteration results under one lock: when done
// is true the caller must Complete r with res. Otherwise the returned
// action is EndWait's.
func (c *Ctx) RunFirst(r *Req, ops Ops) (res int64, done bool, a Action) {
	return c.RunBegun(r, false, ops)
}

// RunBegun is the rest of Run for a request TakeLocked began: like
// RunFirst, it leaves completion to the caller (done true: Complete r with
// res), so that the caller can post a batch under one lock. A cancelled
// request is done with -ECANCELED, without a retry.
func (c *Ctx) RunBegun(r *Req, cancelled bool, ops Ops) (res int64, done bool, a Action) {
	if cancelled {
		return -int64(syscall.ECANCELED), true, None
	}
	res, wait := ops.Retry(r)
	if !wait {
		return res, true, None
	}
	return 0, false, c.EndWait(r)
}

// PopLocked takes the request at the head of the run list, or nil.
func (c *Ctx) PopLocked() *Req {
	r := c.runHead
	if r == nil {
		return nil
	}
	c.runHead = r.next
	if c.runHead == nil {
		c.runTail = nil
	}
	r.next = nil
	r.queued = false
	return r
}

// Pop is PopLocked under Mu.
func (c *Ctx) Pop() *Req {
	c.Mu.Lock()
	r := c.PopLocked()
	c.Mu.Unlock()
	return r
}

// DoneLocked marks r completed. Hold Mu. After this no kick, queue or run
// may reach r until ResetLocked gives it a new incarnation.
func (c *Ctx) DoneLocked(r *Req) {
	if invariants.Enabled {
		invariants.Check(!r.done, "request completed twice")
		invariants.Check(!r.queued && r.Wait.Queue() == nil && !r.owed, "completion of a request that is queued or waiting")
	}
	r.done = true
	r.running = false
}

// CancelResult says what Cancel did.
type CancelResult uint8

const (
	CancelNotFound CancelResult = iota // r is done (or another incarnation): EINVAL
	CancelBusy                         // a blocking syscall is under way: EAGAIN
	CancelStarted                      // cancelled; the next iteration completes it with -ECANCELED
)

// CancelLocked sets r's cancelled flag when it can be cancelled. Hold Mu.
// When it returns CancelStarted the caller must, after releasing Mu, call
// UnlinkAndKick(r, gen) so that a request sleeping on a wait is woken to
// complete.
func (c *Ctx) CancelLocked(r *Req) CancelResult {
	switch {
	case r.done:
		return CancelNotFound
	case r.busy:
		return CancelBusy
	}
	r.cancelled = true
	return CancelStarted
}

// UnlinkAndKick is the unlink helper of cancel and destroy: if incarnation
// gen of r is still linked on a wait queue, it unlinks the entry and kicks
// r, by the same rule as a waker (queue lock, then Ctx.Mu, one critical
// section). It returns the action to Finish.
func (c *Ctx) UnlinkAndKick(r *Req, gen uint64) Action {
	c.Mu.Lock()
	q := r.Wait.Queue()
	c.Mu.Unlock()
	if q == nil {
		return None
	}
	// Without Ctx.Mu, r may be woken, completed and reused, so q may no
	// longer be its queue; q itself stays valid (queues outlive requests).
	q.Mu.Lock()
	c.Mu.Lock()
	a := None
	if r.gen == gen && r.Wait.Queue() == q {
		a = c.kickLocked(r)
	}
	c.Mu.Unlock()
	q.Mu.Unlock()
	return a
}

// ForceCancelLocked is destroy's cancel: the cancelled flag goes on even if
// an offload worker holds r (its kick will then end r with -ECANCELED). It
// reports whether r still needs UnlinkAndKick (false when r is done).
func (c *Ctx) ForceCancelLocked(r *Req) bool {
	if r.done {
		return false
	}
	r.cancelled = true
	return true
}
