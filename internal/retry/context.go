//go:build linux

// Package retry is kaio's own engine: Linux 2.6's retry-based AIO rebuilt
// in Go, with the kick-path races of the 2005 RFC closed (internal/kick).
//
// A request is first attempted on the submitter's goroutine without
// blocking (preadv2/pwritev2 with RWF_NOWAIT on files, a non-blocking
// attempt on pipes and sockets). What cannot finish that way waits: on the
// poller (readiness of a pipe, socket, eventfd, tty), on Linux AIO
// (O_DIRECT reads and writes, fsync: aio_linux.go), or on the offload
// queue (cache misses; O_DIRECT and fsync where Linux AIO is refused),
// whose workers do the blocking syscall. Each wait ends in a kick; kick
// workers run the run list and retry.
//
// Lock order:
//
//	poller.Reg.Q.Mu / Context.offq.Mu   (wait queues)
//	  → Context.k.Mu                    (ctx_lock: everything below)
//
// Choices where Linux is silent or differs, as libaio users would expect:
//   - NOOP completes at once with 0 and ignores its fd (as io_uring's NOP).
//   - A read of a pipe or socket completes with whatever it got (like
//     read(2)); a write to one completes when all was written (like a
//     blocking write(2)), or with the bytes written before an error.
//   - A read or write of a regular file goes on until all is done, EOF, or
//     an error; after partial progress an error returns the progress.
//   - A blocking pipe or socket fd works when the kernel supports
//     RWF_NOWAIT on it (pipes and sockets do on Linux 5.8+). A blocking fd
//     that refuses RWF_NOWAIT (a tty) waits for readiness on the poller,
//     then an offload worker makes the blocking call (retryBlocking).
//   - Closing an fd does not end requests on it: like the kernel's file
//     reference, a waiting request holds a duplicate of the fd until it
//     completes.
package retry

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/invariants"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/poller"
	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// Config tunes a context.
type Config struct {
	// Workers bounds the offload workers; 0 means 4×GOMAXPROCS (at least 8).
	Workers int
	// NoLinuxAIO sends O_DIRECT and fsync to the offload workers even
	// where Linux AIO is usable.
	NoLinuxAIO bool
	// DeferWrites leaves the buffered writes that would go to the offload
	// workers for GetEvents to make (defer_linux.go).
	DeferWrites bool
}

// Context is a retry-engine context (the kernel's kioctx).
type Context struct {
	nr      int
	workers int
	reqs    []request // one per ring slot; never reallocated

	// k holds ctx_lock (k.Mu) and the run list. k.Mu also guards every
	// field in the block below.
	k kick.Ctx

	// guarded by k.Mu:
	dead     bool
	inflight int // accepted, not completed (Do included)
	free     *request
	freeSync *request
	active   *request               // Do requests in flight (the ring's are in reqs), for cancel and destroy
	ring     core.Ring              // completions; a slot per request, Do's excepted
	waiters  core.WaitList[waitFor] // reapers asleep in GetEvents, and free ones
	stats    core.Stats
	nowaitNo map[devIno]uint8     // files whose reads (1) / writes (2) refuse RWF_NOWAIT
	files    map[fileKey]*fileRef // the duplicates that waiting requests on regular files share
	freeRefs *fileRef             // spare fileRefs, linked through next

	offStarts   int  // offload workers started
	kickStarted bool // the kick worker was started (at the first Signal)
	stopping    bool // Destroy found the context idle: the workers leave
	poll        *poller.Poller
	// aio is the Linux AIO queue (aio_linux.go), set up at the first
	// O_DIRECT request or fsync: aioOff when Linux AIO is refused here
	// or noAIO is set. syncAIO maps the aio_data of Do requests, past
	// the ring's, to them.
	aio   atomic.Pointer[aioQueue]
	noAIO bool
	// batch is the AIO context of batched first attempts (batch_linux.go),
	// set up at the first batch: batchOff when Linux AIO is refused here
	// or noAIO is set.
	batch atomic.Pointer[inlineBatch]
	// offBatch is the offload workers' (batch_linux.go), likewise.
	offBatch atomic.Pointer[inlineBatch]
	syncAIO  []*request

	// offq is the offload queue: a wait queue whose "wake" is a worker
	// taking the first entry.
	offq waitq.Queue
	// offBusy: an offload worker is making a batch of writes to the file
	// offBusyDev (batch_linux.go); the other workers leave that file's
	// writes queued for it. Guarded by offq.Mu.
	offBusy    bool
	offBusyDev devIno
	// deferq is the queue of deferred writes (Config.DeferWrites), made
	// by GetEvents. defers is the setting; deferN, guarded by k.Mu, counts
	// the entries linked on deferq and not yet taken in a GetEvents' kick
	// (never fewer: an entry is counted in the critical section that
	// links it).
	deferq   waitq.Queue
	defers   bool
	deferN   int
	deferGen uint64 // bumped in each critical section that links an entry
	// The hand-offs between the engine's goroutines, as lock.Notes (a
	// wake-up is a token the next Sleep takes, as the channels of
	// capacity one they were), so that the schedule explorer runs them:
	// offNote wakes an offload worker (work is queued, or Destroy is
	// done), kickNote the kick worker (a request went onto the run list,
	// or Destroy is done), idleNote Destroy (the last request ended).
	offNote, kickNote, idleNote lock.Note
	// kickRunning mirrors kickStarted for Signal's fast path.
	kickRunning atomic.Bool
	// pollRuns is set while the poller goroutine runs wake callbacks: it
	// will run the run list itself afterwards, so Signal need not wake a
	// kick worker (see pollBatch for why no kick is lost).
	pollRuns atomic.Bool
	wg       sync.WaitGroup // the goroutines the context started
	// x is the schedule explorer's part (explore.go); nil in production.
	x *Explorer
}

// New creates a context with room for nr completions.
func New(nr int, cfg Config) (*Context, error) {
	if nr <= 0 {
		return nil, unix.EINVAL
	}
	w := cfg.Workers
	if w == 0 {
		w = max(4*runtime.GOMAXPROCS(0), 8)
	}
	c := &Context{
		nr:      nr,
		workers: w,
		noAIO:   cfg.NoLinuxAIO,
		defers:  cfg.DeferWrites,
	}
	c.offNote.Init()
	c.kickNote.Init()
	c.idleNote.Init()
	c.ring.Init(nr)
	c.reqs = make([]request, nr)
	for i := range c.reqs {
		r := &c.reqs[i]
		c.initRequest(r, i)
		r.nextFree = c.free
		c.free = r
	}
	return c, nil
}

func (c *Context) initRequest(r *request, i int) {
	r.ctx = c
	r.claim = core.Claim{Owner: c, Index: i}
	r.k.Owner = r
	r.k.Wait.W = r
	r.iovStore = make([]unix.Iovec, 0, 1)
	r.aioIndex = i
}

func dirBit(op core.Op) uint8 {
	if op.Writes() {
		return 2
	}
	return 1
}

func (c *Context) linkActiveLocked(r *request) {
	r.prevActive = nil
	r.nextActive = c.active
	if c.active != nil {
		c.active.prevActive = r
	}
	c.active = r
}

func (c *Context) unlinkActiveLocked(r *request) {
	if r.prevActive != nil {
		r.prevActive.nextActive = r.nextActive
	} else {
		c.active = r.nextActive
	}
	if r.nextActive != nil {
		r.nextActive.prevActive = r.prevActive
	}
	r.nextActive, r.prevActive = nil, nil
}

// Complete implements kick.Ops: it posts r's event (under ctx_lock), then
// signals the eventfd after unlocking.
func (c *Context) Complete(kr *kick.Req, res int64) {
	r := kr.Owner.(*request)
	c.release(r)
	c.k.Mu.Lock()
	s := c.finishLocked(r, res)
	c.wakeReapersLocked()
	c.k.Mu.Unlock()
	s.signal()
}

// completeBatch is Complete for a batch of requests that finished an
// iteration on this goroutine (their first, in one Submit call, or the
// Linux AIO reaper's): one critical section for all of them, at most
// batchMax.
func (c *Context) completeBatch(reqs []*request, res []int64) {
	if len(reqs) == 0 {
		return
	}
	for _, r := range reqs {
		c.release(r)
	}
	var sigs [batchMax]resfdSignal // the eventfds to signal, most often none
	nsig := 0
	c.k.Mu.Lock()
	for j, r := range reqs {
		if s := c.finishLocked(r, res[j]); s.fd >= 0 {
			sigs[nsig] = s
			nsig++
		}
	}
	c.wakeReapersLocked()
	c.k.Mu.Unlock()
	for _, s := range sigs[:nsig] {
		s.signal()
	}
}

// release gives back what a finished request holds outside the context's
// lists: its poller registration and its own duplicate of the fd. (An
// owned eventfd stays open until it is signalled: finishLocked hands it
// over.) The request is still running: ours. It inlines, so that a
// request that holds nothing (most finish inside Submit) costs no call.
func (c *Context) release(r *request) {
	if r.reg != nil || r.ownFd || r.viaAIO {
		c.releaseHeld(r)
	}
}

func (c *Context) releaseHeld(r *request) {
	if r.reg != nil {
		c.poll.Close(r.reg)
		r.reg = nil
	}
	if r.ownFd {
		if f := r.fref; f != nil {
			c.releaseFile(f)
			r.fref = nil
		} else {
			unix.Close(r.fd)
		}
		r.fd, r.ownFd = -1, false
	}
	if r.viaAIO { // cancelled by Destroy while the kernel had it
		r.pin.Unpin()
		r.viaAIO, r.aioRefused = false, false
	}
}

// hold gives r its own references to its files before it first waits (on
// the poller, an offload worker or the run list), as io_submit's fget
// does: from then on the caller may close or reuse Iocb.Fd and Iocb.ResFd.
// A request that completes inside Submit never pays for it.
func (r *request) hold() unix.Errno {
	switch {
	case r.ownFd || r.path == pathNone:
	case r.path == pathInline:
		if e := r.ctx.holdFile(r); e != 0 {
			return e
		}
	default:
		fd, e := dupFd(r.fd)
		if e != 0 {
			return e
		}
		r.fd, r.ownFd = fd, true
	}
	return r.holdResFd()
}

// dupFd is a request's own reference to fd's file: a duplicate, close on
// exec.
func dupFd(fd int) (int, unix.Errno) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err.(unix.Errno)
	}
	return dup, 0
}

// fileRef is a duplicate of a regular file's (or block device's) fd that
// the requests on that file waiting at the same time share: the kernel's
// file reference, counted here, so that a stream of buffered writes that
// go to the offload workers costs one dup and one close for as long as
// any of them waits, not one each (they were a seventh of the CPU of
// aio-stress's buffered write stage). The requests share it whatever fd
// they were submitted on, since they name their file by device and inode
// and their open flags (fileKey), and two open file descriptions that
// agree on those do the same positioned reads and writes: the access mode,
// O_APPEND and O_DIRECT are among the flags, the file position is not used
// (pathInline I/O names its offset), and while the duplicate is open its
// inode cannot be freed, so no other file takes its number. (Should the
// caller change an fd's flags with fcntl F_SETFL while requests submitted
// on it wait, those requests see the flags Submit saw.)
type fileRef struct {
	fd   int
	key  fileKey
	refs int      // the requests holding it; guarded by Context.k.Mu
	next *fileRef // on Context.freeRefs
}

// fileKey names what a fileRef stands for.
type fileKey struct {
	devIno
	flags int // F_GETFL
}

// holdFile gives r, a read or write of a regular file about to wait, a
// reference on its file's shared duplicate (fileRef), made if need be.
func (c *Context) holdFile(r *request) unix.Errno {
	key := fileKey{r.devino, r.flags}
	c.k.Mu.Lock()
	f := c.files[key]
	if f != nil {
		f.refs++
	}
	c.k.Mu.Unlock()
	if f == nil {
		fd, e := dupFd(r.fd)
		if e != 0 {
			return e
		}
		spare := -1
		c.k.Mu.Lock()
		if f = c.files[key]; f != nil { // made by another request meanwhile
			f.refs++
			spare = fd
		} else {
			if f = c.freeRefs; f != nil {
				c.freeRefs = f.next
			} else {
				f = new(fileRef)
			}
			*f = fileRef{fd: fd, key: key, refs: 1}
			if c.files == nil {
				c.files = make(map[fileKey]*fileRef)
			}
			c.files[key] = f
		}
		c.k.Mu.Unlock()
		if spare >= 0 {
			unix.Close(spare)
		}
	}
	r.fd, r.ownFd, r.fref = f.fd, true, f
	return 0
}

// releaseFile drops a request's reference on f, and closes f's duplicate
// when it was the last.
func (c *Context) releaseFile(f *fileRef) {
	c.k.Mu.Lock()
	f.refs--
	fd := -1
	if f.refs == 0 {
		fd = f.fd
		delete(c.files, f.key)
		f.next = c.freeRefs
		c.freeRefs = f
	}
	c.k.Mu.Unlock()
	if fd >= 0 {
		unix.Close(fd)
	}
}

// holdResFd is hold for the eventfd alone: for a request the kernel holds
// the file of (Linux AIO), which kaio signals itself once it completes.
func (r *request) holdResFd() unix.Errno {
	if r.resfd >= 0 && !r.ownResFd {
		fd, e := dupFd(r.resfd)
		if e != 0 {
			return e
		}
		r.resfd, r.ownResFd = fd, true
	}
	return 0
}

// finishLocked is aio_complete under ctx_lock: the request is done, its
// iocb free, its event in the ring (or, for Do, in r.result). It returns the
// eventfd to signal after unlocking. After the lock is released the
// request may be reused at once.
func (c *Context) finishLocked(r *request, res int64) resfdSignal {
	iocb, resfd := r.iocb, resfdSignal{int32(r.resfd), r.ownResFd}
	r.ownResFd = false
	c.k.DoneLocked(&r.k)
	if r.sync {
		c.unlinkActiveLocked(r)
	}
	if r.deferred { // cancelled on the deferred queue
		r.deferred = false
		c.deferN--
	}
	iocb.Release(&r.claim)
	r.iocb = nil
	if c.x != nil {
		c.x.Completed(r, res)
	}
	c.inflight--
	c.stats.Completed++
	if res == -int64(unix.ECANCELED) {
		c.stats.Cancelled++
	}
	if r.sync {
		r.result = res // the Do goroutine, which runs this, reads it
	} else {
		c.ring.Post(core.Event{Data: iocb.Data, Obj: iocb, Res: res})
		r.nextFree = c.free
		c.free = r
	}
	if c.dead && c.inflight == 0 {
		c.idleNote.Wakeup()
	}
	return resfd
}

// resfdSignal is a finished request's eventfd (-1: none), to be signalled
// after ctx_lock is released, and closed then if the request owned it.
type resfdSignal struct {
	fd    int32
	owned bool
}

func (s resfdSignal) signal() {
	if s.fd >= 0 {
		core.SignalEventfd(int(s.fd))
		if s.owned {
			unix.Close(int(s.fd))
		}
	}
}

// Signal implements kick.Ops: a request went onto the run list.
func (c *Context) Signal() {
	if c.loadPollRuns() {
		return
	}
	if !c.kickRunning.Load() {
		c.startKickWorker()
	}
	c.kickNote.Wakeup()
}

// startKickWorker starts the kick worker unless it runs or Destroy is
// done: a waker's Signal may come after the request it kicked completed
// and the context went idle (the kick protocol lets a waker touch the
// context, not the request, once it unlocks).
func (c *Context) startKickWorker() {
	c.k.Mu.Lock()
	if !c.kickStarted && !c.stopping {
		c.kickStarted = true
		c.kickRunning.Store(true)
		c.goLocked(c.kickWorker)
	}
	c.k.Mu.Unlock()
}

// goLocked starts one of the context's goroutines, which Destroy waits
// for. Hold k.Mu (Destroy sets stopping under it before it waits).
func (c *Context) goLocked(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// stoppingNow reports whether Destroy has told the workers to leave.
func (c *Context) stoppingNow() bool {
	c.k.Mu.Lock()
	s := c.stopping
	c.k.Mu.Unlock()
	return s
}

// pollBatch is the poller's batch hook. After its wake callbacks, the
// poller goroutine runs the run list itself, then clears pollRuns and looks
// again: a Signal that was skipped because pollRuns was still set pushed its
// request under ctx_lock before reading the flag, so the second look, which
// takes ctx_lock after the flag is cleared, finds it.
func (c *Context) pollBatch(start bool) {
	if start {
		c.storePollRuns(true)
		return
	}
	c.runAll()
	c.storePollRuns(false)
	if c.sabotaged(func(s *Sabotage) bool { return s.NoSecondLook }) {
		return
	}
	c.runAll()
}

// loadPollRuns and storePollRuns are pollRuns' atomic operations, each a
// point where the schedule explorer may switch goroutines.
func (c *Context) loadPollRuns() bool {
	if c.x != nil {
		c.x.Yield("load pollRuns")
	}
	return c.pollRuns.Load()
}

func (c *Context) storePollRuns(v bool) {
	if c.x != nil {
		c.x.Yield(map[bool]string{true: "store pollRuns = true", false: "store pollRuns = false"}[v])
	}
	c.pollRuns.Store(v)
}

// runAll runs the run list until it is empty.
func (c *Context) runAll() {
	for {
		kr := c.k.Pop()
		if kr == nil {
			return
		}
		r := kr.Owner.(*request)
		kick.Finish(c.k.Run(kr, c), &r.k.Note, c)
	}
}

// kickBatch is a batch of requests whose syscalls are done (each one's
// wres is in), kicked and run by their completer (the O_DIRECT reaper, an
// offload worker, a GetEvents making deferred writes) in two critical
// sections rather than several per request: kickDoneLocked kicks each one
// and takeRunLocked takes the run list, beginning each iteration
// (kick.TakeLocked), in the first; runTaken runs the iterations, as runAll
// would, and posts those that finished in the second (completeBatch). A request kicked Queued is on the run list
// until a runner takes it: its kick is owed a run, which runTaken (or a
// kick worker, if another took it first) is.
type kickBatch struct {
	run   [batchMax]takenRun
	notes [batchMax]*lock.Note // sync requests kicked: their goroutine runs them
	nr    int
	nn    int
	more  bool // the run list had more than run holds: runAll the rest
}

type takenRun struct {
	r         *request
	cancelled bool
}

// kickDoneLocked kicks r, whose syscall is done, into kb. Hold c.k.Mu.
func (c *Context) kickDoneLocked(kb *kickBatch, r *request) {
	if c.k.KickLocked(&r.k) == kick.WakeSync {
		kb.notes[kb.nn] = &r.k.Note
		kb.nn++
	}
}

// takeRunLocked takes the run list's head into kb, up to a batch, and
// counts the retries among them (in this critical section, so that the
// retry itself need not take the lock). Hold c.k.Mu.
func (c *Context) takeRunLocked(kb *kickBatch) {
	for kb.nr < len(kb.run) {
		kr, cancelled := c.k.TakeLocked()
		if kr == nil {
			return
		}
		r := kr.Owner.(*request)
		if r.attempts > 0 {
			c.stats.Retries++
			r.retryCounted = true
		}
		kb.run[kb.nr] = takenRun{r, cancelled}
		kb.nr++
	}
	kb.more = true
}

// runTaken wakes kb's sync requests and runs the iterations it took, then
// posts those that finished under one lock. Call it without c.k.Mu.
func (c *Context) runTaken(kb *kickBatch) {
	for _, n := range kb.notes[:kb.nn] {
		n.Wakeup()
	}
	var reqs [len(kb.run)]*request
	var res [len(kb.run)]int64
	done := 0
	for _, t := range kb.run[:kb.nr] {
		v, fin, a := c.k.RunBegun(&t.r.k, t.cancelled, c)
		if fin {
			reqs[done], res[done] = t.r, v
			done++
		}
		kick.Finish(a, &t.r.k.Note, c)
	}
	c.completeBatch(reqs[:done], res[:done])
	if kb.more {
		c.runAll() // the run list held more than one batch
	}
}

// kickWorker is aio_kick_handler: it runs the run list each time Signal
// wakes it, until Destroy tells it to leave.
func (c *Context) kickWorker() {
	for {
		c.kickNote.Sleep()
		if c.stoppingNow() {
			return
		}
		c.runAll()
	}
}

// Stats implements core.Backend.
func (c *Context) Stats() core.Stats {
	c.k.Mu.Lock()
	s := c.stats
	s.Kicks = c.k.KicksLocked()
	s.InFlight = c.inflight
	c.k.Mu.Unlock()
	return s
}

// Cancel implements core.Backend.
func (c *Context) Cancel(i *core.Iocb) error {
	cl := i.ClaimedBy(c)
	if cl == nil {
		return unix.EINVAL
	}
	c.k.Mu.Lock()
	if c.dead {
		c.k.Mu.Unlock()
		return unix.EINVAL
	}
	// The claim may have been released and the request reused since we
	// read it: it is ours only if it still holds i.
	r := c.requestOf(cl)
	if r == nil || r.iocb != i || i.Claimed() != cl {
		c.k.Mu.Unlock()
		return unix.EINVAL
	}
	var res kick.CancelResult = c.k.CancelLocked(&r.k)
	gen := r.k.GenLocked()
	c.k.Mu.Unlock()
	switch res {
	case kick.CancelNotFound:
		return unix.EINVAL
	case kick.CancelBusy:
		return unix.EAGAIN
	}
	kick.Finish(c.k.UnlinkAndKick(&r.k, gen), &r.k.Note, c)
	return nil
}

// requestOf maps a claim of this context to its request. Hold k.Mu.
func (c *Context) requestOf(cl *core.Claim) *request {
	if cl.Index >= 0 {
		return &c.reqs[cl.Index]
	}
	for r := c.active; r != nil; r = r.nextActive { // sync requests (Do)
		if &r.claim == cl {
			return r
		}
	}
	return nil
}

// Do implements core.Backend: a sync kiocb on the caller's goroutine.
func (c *Context) Do(i *core.Iocb) core.Event { return c.DoHint(i, nil) }

// DoHint is Do with what the caller knows (core.FdInfo.Use); hint may be
// nil.
func (c *Context) DoHint(i *core.Iocb, hint *core.FdInfo) core.Event {
	var fc fdCache
	fc.Reset()
	fc.Use(hint)
	r, err := c.prepare(i, &fc, true)
	if err != nil {
		return core.ErrEvent(i, err)
	}
	return c.doLoop(r, i)
}

// doLoop runs the sync request r for iocb i to its end on this goroutine.
func (c *Context) doLoop(r *request, i *core.Iocb) core.Event {
	data := i.Data
	for {
		a := c.k.Run(&r.k, c)
		c.flushAIO()
		if a == kick.None && r.iocb == nil {
			break // completed
		}
		if a != kick.WakeSync {
			if r.viaAIO {
				c.wakeReaper() // the kernel's completion: the reaper's to take
			}
			r.k.Note.Sleep() // until the kick that is owed
		}
	}
	res := r.result
	c.k.Mu.Lock()
	r.nextFree = c.freeSync
	c.freeSync = r
	c.k.Mu.Unlock()
	return core.Event{Data: data, Obj: i, Res: res}
}

// Destroy implements core.Backend.
func (c *Context) Destroy() error {
	c.k.Mu.Lock()
	if c.dead {
		c.k.Mu.Unlock()
		return unix.EINVAL
	}
	c.dead = true
	c.waiters.WakeAll()
	// Cancel every request. Nothing joins the active list once dead is
	// set, so one snapshot of it is all there is to cancel.
	type victim struct {
		r   *request
		gen uint64
	}
	var todo []victim
	cancel := func(r *request) {
		if r.iocb != nil && c.k.ForceCancelLocked(&r.k) {
			todo = append(todo, victim{r, r.k.GenLocked()})
		}
	}
	for i := range c.reqs {
		cancel(&c.reqs[i])
	}
	for r := c.active; r != nil; r = r.nextActive {
		cancel(r)
	}
	c.k.Mu.Unlock()
	for _, v := range todo {
		if c.sabotaged(func(s *Sabotage) bool { return s.DestroySkipsUnlink }) {
			break
		}
		kick.Finish(c.k.UnlinkAndKick(&v.r.k, v.gen), &v.r.k.Note, c)
	}
	c.k.Mu.Lock()
	idle := c.inflight == 0
	c.k.Mu.Unlock()
	if !idle {
		c.wakeReaper()
		c.idleNote.Sleep() // the last completion wakes it
	}
	// The workers leave; a Signal still under way (after its kick and the
	// completion of the request it kicked) finds stopping set and starts
	// nothing.
	c.k.Mu.Lock()
	c.stopping = true
	q := c.aio.Load()
	c.k.Mu.Unlock()
	c.kickNote.Wakeup()
	c.offNote.Wakeup() // each worker that leaves wakes the next
	if q != nil && q != aioOff {
		q.stopReaper() // nothing is in the kernel
	}
	c.wg.Wait()
	if q != nil && q != aioOff {
		q.close() // after the reaper, which reads its ring
	}
	for _, p := range []*atomic.Pointer[inlineBatch]{&c.batch, &c.offBatch} {
		if b := p.Load(); b != nil && b != batchOff {
			b.close()
		}
	}
	if c.poll != nil {
		c.poll.Stop()
	}
	if invariants.Enabled {
		c.k.Mu.Lock()
		invariants.Check(c.active == nil && c.inflight == 0 && c.k.PopLocked() == nil, "destroyed context with requests left")
		invariants.Check(len(c.files) == 0, "destroyed context with file references left")
		c.k.Mu.Unlock()
	}
	return nil
}

// GetEvents implements core.Backend.
func (c *Context) GetEvents(ctx context.Context, minNr int, events []core.Event, timeout time.Duration) (int, error) {
	if err := core.CheckMinNr(minNr, events); err != nil {
		return 0, err
	}
	c.k.Mu.Lock()
	if c.dead {
		c.k.Mu.Unlock()
		return 0, unix.EINVAL
	}
	if c.deferN > 0 {
		c.runDeferredLocked()
	}
	n := c.ring.Reap(events)
	if now, err := core.NoWait(ctx, n, minNr, timeout); now {
		c.k.Mu.Unlock()
		return n, err
	}
	w := c.waiters.Get()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	for {
		if c.deferN > 0 && !c.dead {
			// Writes deferred before this looked, or while it waited
			// (their deferral woke it). If it took none, another
			// GetEvents has them or Cancel ended them, unless more were
			// deferred meanwhile: then it looks again, since their
			// deferral found no reaper asleep to wake.
			// Either way it reaps again: the lock was released, and an
			// event posted meanwhile woke nobody.
			gen := c.deferGen
			ran := c.runDeferredLocked()
			n += c.ring.Reap(events[n:])
			if n >= minNr || c.dead {
				break
			}
			if ran || c.deferGen != gen {
				continue
			}
		}
		w.For.need = minNr - n
		var expired bool
		if q := c.kernelWaitLocked(done); q != nil {
			expired = c.waitKernel(q, minNr-n, deadline)
		} else {
			c.wakeReaper() // if it naps, it may hold what this waits for
			expired = c.waiters.Sleep(&c.k.Mu, w, deadline, done)
		}
		n += c.ring.Reap(events[n:])
		if n >= minNr || expired || c.dead {
			break
		}
	}
	c.waiters.Put(w)
	dead := c.dead
	c.k.Mu.Unlock()
	return core.WaitResult(n, dead, core.CtxErr(ctx))
}

// DropStaleClaim implements core.ClaimOwner.
func (c *Context) DropStaleClaim(cl *core.Claim, i *core.Iocb) {
	c.k.Mu.Lock()
	if r := c.requestOf(cl); r == nil || r.iocb != i {
		i.Release(cl)
	}
	c.k.Mu.Unlock()
}
