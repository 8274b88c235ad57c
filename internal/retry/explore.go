//go:build linux

package retry

import (
	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/poller"
	"github.com/kaio-go/kaio/internal/waitq"
)

// This file is how internal/explore/kickrace runs this engine's own code
// under its schedule explorer: the kick workers' and offload workers' loops
// (kickWorker, offloadWorker, runAll, the workers' batches of writes), the
// poller's wake path (the wake callback, pollBatch and its pollRuns
// shortcut), Submit's first iterations and batched completions, Do,
// Cancel, Destroy and GetEvents, with the explorer's hooks at every lock and hand-off (the locks and
// notes are lock.Mutex and lock.Note). Only the I/O is the explorer's: a
// scripted retry method and offload syscall, since it has no files; the
// engine's goroutines are the explorer's threads, started by the scenario
// (Context.KickWorker, Context.OffloadWorker), since the explorer starts
// every thread at the beginning of a schedule.

// Explorer is the schedule explorer's part of a context.
type Explorer struct {
	// Sched takes over every lock and note of the context.
	Sched lock.Sched
	// Yield is a point where the explorer may switch goroutines: the
	// atomic operations on pollRuns.
	Yield func(label string)
	// Retry is the retry method: the I/O that a request does (see
	// Context.Wait, Context.Unwait, Context.Offload).
	Retry func(r *Request) (res int64, wait bool)
	// Blocking is an offload worker's syscall for r.
	Blocking func(r *Request) int64
	// Completed is told of each completion, with ctx_lock held.
	Completed func(r *Request, res int64)
	// Workers is how many offload worker threads the scenario runs.
	Workers int
	// BatchWrites makes every offloaded request a buffered write to one
	// file, which the offload workers take several at a time
	// (batch_linux.go), each with its own Blocking.
	BatchWrites bool
	// DeferWrites defers every offloaded request but a Do's to GetEvents
	// (defer_linux.go): the goroutine that calls GetEvents takes them
	// off the deferred queue, up to offBatchMax at a time, and makes
	// each with its own Blocking.
	DeferWrites bool
	// Broken and Sabotage break the protocol or the engine on purpose,
	// for the sabotage tests: each of the explorer's scenarios must catch
	// one of these.
	Broken   *kick.Broken
	Sabotage Sabotage
}

// Sabotage names broken variants of the engine's own loops.
type Sabotage struct {
	// NoSecondLook: the poller goroutine does not run the run list again
	// after it clears pollRuns (a Signal it made skip is lost).
	NoSecondLook bool
	// DestroySkipsUnlink: Destroy marks requests cancelled but does not
	// take them off their wait queues.
	DestroySkipsUnlink bool
	// WorkerDropsKick: an offload worker whose kick queued a request
	// neither runs it nor wakes the kick worker.
	WorkerDropsKick bool
	// BatchStaysBusy: an offload worker that made a batch of writes does
	// not say it is done (offBusy stays set), so the file's writes that
	// came meanwhile are left for a batcher that has gone.
	BatchStaysBusy bool
	// DeferNoWake: deferring a write does not wake the reapers asleep in
	// GetEvents, which then sleep while it waits for one of them.
	DeferNoWake bool
}

// sabotaged reports whether the explorer broke the engine's loop f.
func (c *Context) sabotaged(f func(*Sabotage) bool) bool {
	return c.x != nil && f(&c.x.Sabotage)
}

// Request is a request, as the explorer sees it.
type Request = request

// ID is the Data of the request's iocb (the scenario's index).
func (r *request) ID() int { return int(r.data) }

// KickReq is the request's part of the kick protocol.
func (r *request) KickReq() *kick.Req { return &r.k }

// NewExplored makes a context with room for nr requests whose locks,
// notes and waiters belong to x.Sched, whose I/O is x's, and whose kick
// worker and x.Workers offload workers the scenario runs as threads.
func NewExplored(nr int, x *Explorer) *Context {
	c, _ := New(nr, Config{Workers: max(x.Workers, 1), NoLinuxAIO: true})
	c.x = x
	c.k.Broken = x.Broken
	c.k.Mu.SetSched(x.Sched)
	c.offq.Mu.SetSched(x.Sched)
	c.deferq.Mu.SetSched(x.Sched)
	for _, n := range []*lock.Note{&c.offNote, &c.kickNote, &c.idleNote} {
		n.SetSched(x.Sched)
	}
	c.waiters.Sched = x.Sched
	for i := range c.reqs {
		c.reqs[i].k.Note.SetSched(x.Sched)
	}
	c.kickStarted = true // the scenario runs it
	c.kickRunning.Store(true)
	c.offStarts = c.workers
	if x.BatchWrites {
		c.offBatch.Store(new(inlineBatch)) // no AIO context: Blocking does the I/O
	}
	return c
}

// Names returns the context's locks and notes, for the explorer's traces.
func (c *Context) Names() map[any]string {
	return map[any]string{
		&c.k.Mu: "ctx_lock", &c.offq.Mu: "offq.lock", &c.deferq.Mu: "deferq.lock",
		&c.offNote: "the offload workers", &c.kickNote: "the kick worker", &c.idleNote: "Destroy",
	}
}

// Kick returns the context's part of the kick protocol, for the
// explorer's checks between steps.
func (c *Context) Kick() *kick.Ctx { return &c.k }

// SubmitScripted is Submit for iocbs whose I/O the explorer scripts: the
// same batch, first iterations and completions, without the fd checks.
func (c *Context) SubmitScripted(iocbs []*core.Iocb) (int, error) {
	var plans [batchMax]plan
	var reqs [batchMax]*request
	var results [batchMax]int64
	n := min(len(iocbs), batchMax)
	return c.submitChunk(iocbs[:n], plans[:n], reqs[:n], results[:n])
}

// DoScripted is Do for an iocb whose I/O the explorer scripts.
func (c *Context) DoScripted(i *core.Iocb) core.Event {
	var reqs [1]*request
	if _, err := c.reserve([]*core.Iocb{i}, reqs[:], true); err != nil {
		return core.ErrEvent(i, err)
	}
	r := reqs[0]
	r.k.Note.SetSched(c.x.Sched)
	r.setup(i, &plan{})
	return c.doLoop(r, i)
}

// KickWorker is the kick worker's loop (aio_kick_handler).
func (c *Context) KickWorker() { c.kickWorker() }

// OffloadWorker is an offload worker's loop.
func (c *Context) OffloadWorker() { c.offloadWorker() }

// PollWake is the poller goroutine's delivery of one readiness event to q
// (poller.Deliver, with this context's batch hook: the wake callbacks,
// then the run list on the poller goroutine).
func (c *Context) PollWake(q *waitq.Queue, mask uint32) {
	poller.Deliver(c.pollBatch, []*waitq.Queue{q}, []uint32{mask})
}

// Wait is a scripted retry's wait on q: the wait entry is linked (LinkWait)
// and a wake of q kicks the request. False: the request was cancelled.
func (c *Context) Wait(r *Request, q *waitq.Queue) bool { return c.k.LinkWait(&r.k, q, 0) }

// Unwait takes back a wait entry that the retry linked and no longer
// needs (kick.Ctx.Unlink).
func (c *Context) Unwait(r *Request) { c.k.Unlink(&r.k) }

// Offload hands r to the offload workers (the engine's offload: the
// request waits on the offload queue, a worker makes the syscall and
// kicks it).
func (c *Context) Offload(r *Request) (int64, bool) { return c.offload(r) }

// StatsStopped is Stats for the explorer between steps, when every thread
// is stopped (Stats itself would take ctx_lock, a scheduling point).
func (c *Context) StatsStopped() core.Stats {
	s := c.stats
	s.Kicks = c.k.KicksLocked()
	s.InFlight = c.inflight
	return s
}
