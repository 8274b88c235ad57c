//go:build linux

// Package kickrace holds the scenarios of the kick-path races of the July
// 2005 RFC "Races in aio call back path" and the protocols they are run
// against: kaio's (internal/kick, the code the retry engine runs), the
// 2.6.13-rc3 one the RFC was written against, and the one 2.6.14 merged.
// cmd/aio-race is its command line.
//
// A scenario is a request with a scripted retry method (wait on a queue,
// make progress without a wait, finish), the threads around it (the
// submitter, a kick worker, wakers, a canceller, a destroyer) and the
// checks of DESIGN §3. A protocol builds a System: the kick path under
// test, with every lock and note handed to the explorer.
package kickrace

import (
	"fmt"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/waitq"
)

// StepKind is one step of a scripted retry method.
type StepKind uint8

const (
	// Wait: if the wait queue's event has fired, go on to the next step;
	// otherwise link the request's wait entry on the queue and return
	// "wait" (-EIOCBRETRY with a wait queued).
	Wait StepKind = iota
	// Progress: some of the I/O was done but no wait was queued (a short
	// read): return "wait" with no wake-up owed; the runner must kick the
	// request itself. 2.6.14 has no such return: its retry methods loop.
	Progress
	// Finish: the I/O is done: return the result.
	Finish
	// Abandon: link the wait entry on the queue, then take it back and
	// fail (retry's waitReady when the poller refuses to arm the fd).
	Abandon
)

// Step is one step of a retry script.
type Step struct {
	Kind  StepKind
	Queue int // for Wait
}

// Result is the result a scripted request completes with.
const Result = 4096

// errCanceled is -ECANCELED, what a cancelled request completes with in
// kaio; the 2.6 kernels complete it with -EINTR (errIntr).
const (
	errCanceled = -125
	errIntr     = -4
	errPerm     = -1
)

// Req is the scenario's view of a request: its script and what happened to
// it. Protocol code fills it in through the World's methods.
type Req struct {
	Script []Step
	Sync   bool

	pc          int
	Iterations  int   // retry calls
	Completions int   // aio_complete calls
	Res         int64 // the result it completed with
	// Freed: the request's memory may be reused (async: once completed;
	// sync: once Do returned). Touching it then is (1a).
	Freed bool
	// Refused: Submit (or Do) refused it, as Destroy came first.
	Refused     bool
	kicksAtDone uint64
}

// State is the part of a request's protocol state the checks read.
type State struct {
	Linked bool   // its wait entry is on a wait queue
	Queued bool   // it is on the run list
	Kicks  uint64 // its effective kicks so far (0 if the protocol does not count them)
}

// System is one protocol's kick path for one schedule.
type System interface {
	// Submit runs the first iterations of requests is on the calling
	// thread (io_submit), in one call where the protocol batches.
	Submit(is []int)
	// Worker is a kick worker's thread (aio_kick_handler): it runs the
	// run list whenever it is woken.
	Worker()
	// Wake delivers an event on queue q: the wake callbacks of its
	// entries (the kernel's wake_up; kaio's poller goroutine).
	Wake(q int)
	// OffloadWorker is the thread of an offload worker serving queue q:
	// it takes the request waiting there, does the blocking work (then
	// sets the queue's event), and kicks it.
	OffloadWorker(q int)
	// Cancel is io_cancel of request i.
	Cancel(i int)
	// Destroy is io_destroy: cancel everything, wait until all ended.
	Destroy()
	// Do runs request i as a sync request on the calling thread.
	Do(i int)
	// Reap waits, with no timeout, for the events of the async requests
	// (GetEvents); false if the protocol has no such call.
	Reap() bool
	// State returns request i's state (called between steps).
	State(i int) State
	// RunList returns the requests on the run list, in order (at most 16).
	RunList() []int
	// Note returns request i's sync wake-up note, or nil.
	Note(i int) *lock.Note
	// Final checks the protocol's own bookkeeping once no thread can run.
	Final() error
	// Taken reports whether request i was taken by Submit or Do (called
	// between steps): Cancel and Destroy of the scenarios come after.
	Taken(i int) bool
}

// Protocol is a version of the kick path.
type Protocol struct {
	Name string
	Doc  string
	// Engine: the protocol is kaio's engine, which runs the scenarios
	// only it can (reapers in GetEvents, several requests batched).
	Engine bool
	// SelfKick: a retry may return "wait" after progress with no wait
	// queued. When false the retry loops over progress instead (2.6.14).
	SelfKick bool
	New      func(w *World) System
}

// World is the shared state of one schedule.
type World struct {
	X      *explore.Run
	Queues []*waitq.Queue
	// Worker wakes the kick worker (aio_queue_work), in the renderings of
	// Linux; kaio's engine has its own.
	Worker lock.Note
	Reqs   []*Req
	// Offload marks the queues that offload workers serve.
	Offload []bool
	// BatchWrites: the offload workers take their requests as writes to
	// one file, several at a time (kaio's engine).
	BatchWrites bool
	// DeferWrites: the offloaded requests are deferred writes, made by
	// GetEvents (kaio's engine).
	DeferWrites bool
	fired       []bool // per queue: its event happened (the data is there)
	proto       *Protocol
	// Reaped counts what reapers got (the engine's GetEvents).
	Reaped []int
	// destroyed: a destroyer thread has started.
	destroyed bool
}

// Fire records that queue q's event happened: a Wait step on it goes on.
func (w *World) Fire(q int) { w.fired[q] = true }

// WaitingOn returns the queue of request i's current step, the one it
// waits on while it waits.
func (w *World) WaitingOn(i int) int {
	r := w.Reqs[i]
	return r.Script[r.pc].Queue
}

// Retry is the scripted retry method of request i. link links the
// request's wait entry on queue q and reports false if the request was
// cancelled (kaio's LinkWait); unlink takes it back if it is still linked.
// It returns (result, wait).
func (w *World) Retry(i int, link func(q *waitq.Queue) bool, unlink func(q *waitq.Queue)) (int64, bool) {
	r := w.Reqs[i]
	r.Iterations++
	for r.pc < len(r.Script) {
		s := r.Script[r.pc]
		switch s.Kind {
		case Wait:
			if w.fired[s.Queue] {
				r.pc++
				continue
			}
			if !link(w.Queues[s.Queue]) {
				return errCanceled, false
			}
			return 0, true
		case Progress:
			r.pc++
			if !w.proto.SelfKick {
				continue // 2.6.14: the retry method loops over a short read
			}
			return 0, true
		case Finish:
			return Result, false
		case Abandon:
			if !link(w.Queues[s.Queue]) {
				return errCanceled, false
			}
			unlink(w.Queues[s.Queue])
			return errPerm, false
		}
	}
	return Result, false
}

// Complete records request i's completion with res (call it where the
// protocol posts the event, under its context lock). kicks is the
// protocol's effective-kick count then.
func (w *World) Complete(i int, res int64, kicks uint64) {
	r := w.Reqs[i]
	r.Completions++
	r.Res = res
	r.kicksAtDone = kicks
	if r.Completions > 1 {
		w.X.Failf("completion", "request %d completed twice", i)
	}
	if !r.Sync {
		r.Freed = true
	}
}

// Touch is a waker's access to request i's memory (a flag, its context
// pointer): (1a) if the request is freed.
func (w *World) Touch(i int, what string) {
	if w.Reqs[i].Freed {
		w.X.Failf("1a", "%s: the iocb already completed (freed memory)", what)
	}
}

// QueueName names queue q in traces.
func QueueName(q int) string { return fmt.Sprintf("q%d", q+1) }
