package retry

import (
	"sync"
	"sync/atomic"

	"github.com/kaio-go/kaio/internal/linuxaio"
	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// The first attempts of a batch's buffered reads and writes, made in one
// syscall. Each is what the request's first iteration would do itself, a
// preadv2 or pwritev2 with RWF_NOWAIT, handed to io_submit as an iocb with
// aio_rw_flags RWF_NOWAIT instead. Linux runs a buffered iocb inside
// io_submit (aio_read and aio_write call the file's read_iter and
// write_iter and complete at once), and IOCB_NOWAIT keeps it from blocking
// there as it keeps preadv2 from blocking: a page not in the cache gives
// -EAGAIN, a page partly cached a short transfer. So by the time io_submit
// returns, every iocb it took has its event in the ring, which is read in
// user space: one kernel entry for the batch, where the requests would
// make one each. On this project's test machine a kernel entry costs
// about as much as copying 20 KiB, and 64 KiB reads from the page cache
// went 1.2-1.5 times as fast this way.
//
// The results are the first iteration's: Retry takes a request's as it
// takes an offload worker's (wres), a miss (-EAGAIN) sends it straight to
// the offload workers (or ends it, for a caller's RWF_NOWAIT), and a
// short transfer goes on as the request's own would. Whatever the batch
// did not settle (an iocb io_submit refused, an event with another
// error, a file without FMODE_NOWAIT) the request attempts itself, as
// before, so that the errnos stay preadv2's.
//
// The AIO context is the retry context's own, separate from the O_DIRECT
// queue (whose eventfd wakes the reaper), set up at the first batch and
// used by one submitter at a time: another Submit meanwhile attempts its
// requests one by one. Where Linux AIO is refused there is no batch.

// batchRawMax is the most a batch moves with io_submit as a RawSyscall
// (linuxaio.SubmitRaw), 8 reads of 64 KiB from the page cache: about 40 us
// here, that the submitter holds its P. Its iocbs cannot sleep, and the
// scheduler's hand-off of the P of a thread in a syscall of that length
// (sysmon retakes it after 20 us, and exitsyscall gets one back) cost 2%
// of aio-stress's 64 KiB reads and 6% of its random ones.
const batchRawMax = 512 << 10

// batchMin is the fewest batchable requests worth an io_submit: one
// request is cheaper through preadv2 (no iocb, no event).
const batchMin = 2

// inlineBatch is an AIO context for batches: the submitters' first
// attempts (Context.batch) or the offload workers' writes
// (Context.offBatch).
type inlineBatch struct {
	mu     sync.Mutex // held by the submitter or worker using it, and by Destroy
	closed bool       // guarded by mu
	ctx    linuxaio.Context
	ring   linuxaio.Ring // read with io_getevents where Map refused it
	kios   [batchMax]linuxaio.Iocb
	ptrs   [batchMax]uintptr
	reqs   [batchMax]*request
	evs    [batchMax]linuxaio.Event
}

// batchOff is what Context.batch holds when Linux AIO is refused or off.
var batchOff = new(inlineBatch)

// batchCtx returns the batch AIO context in p (c.batch, c.offBatch),
// setting it up at the first use, or nil when there is none.
func (c *Context) batchCtx(p *atomic.Pointer[inlineBatch]) *inlineBatch {
	b := p.Load()
	if b == nil {
		c.k.Mu.Lock()
		if b = p.Load(); b == nil {
			b = batchOff
			if !c.noAIO && !c.dead {
				if ctx, hdr, err := linuxaio.Setup(batchMax); err == nil {
					b = &inlineBatch{ctx: ctx}
					b.ring.Map(hdr)
				}
			}
			p.Store(b)
		}
		c.k.Mu.Unlock()
	}
	if b == batchOff {
		return nil
	}
	return b
}

// inlineBatch is the submitters' batch AIO context.
func (c *Context) inlineBatch() *inlineBatch { return c.batchCtx(&c.batch) }

// batchable reports whether r's first iteration would start with a
// RWF_NOWAIT preadv2 or pwritev2, which a batch can make instead.
func (r *request) batchable() bool {
	return r.path == pathInline && r.nowait && r.left > 0
}

// attemptBatch makes the first attempts of reqs' batchable requests (set
// up, running, not yet run) in one io_submit when there are at least
// batchMin of them, and leaves each result for the request's first
// iteration.
func (c *Context) attemptBatch(reqs []*request) {
	if c.x != nil {
		return // the explorer's Retry does the I/O of its own
	}
	n := 0
	for _, r := range reqs {
		if r.batchable() {
			n++
		}
	}
	if n < batchMin {
		return
	}
	b := c.inlineBatch()
	if b == nil || !b.mu.TryLock() {
		return
	}
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	n = 0
	var bytes int64
	for _, r := range reqs {
		if r.batchable() {
			bytes += r.left
			r.prepBatch(&b.kios[n], n, r.rwflags|unix.RWF_NOWAIT)
			b.ptrs[n], b.reqs[n] = linuxaio.Addr(&b.kios[n]), r
			n++
		}
	}
	took := b.run(n, bytes <= batchRawMax, (*request).tookBatch)
	c.k.Mu.Lock()
	c.stats.Batched += uint64(took)
	c.k.Mu.Unlock()
}

// run hands the first n iocbs of b (for b.reqs) to the kernel in one
// io_submit, a RawSyscall if raw, and gives each request the result of its
// iocb (took). It returns how many iocbs the kernel took: the requests
// after those got nothing. Hold b.mu.
func (b *inlineBatch) run(n int, raw bool, took func(*request, int64)) int {
	k := 0
	for k < n {
		var m int
		var e unix.Errno
		if raw {
			m, e = linuxaio.SubmitRaw(b.ctx, b.ptrs[k:n])
		} else {
			m, e = linuxaio.Submit(b.ctx, b.ptrs[k:n])
		}
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			break // the kernel refused b.reqs[k]
		}
		k += m
	}
	for got := 0; got < k; {
		m := linuxaio.Reap(b.ctx, &b.ring, b.evs[got:k])
		if m == 0 {
			// Not yet complete, which no buffered read or write does
			// today (Linux runs them inside io_submit): wait for it, as
			// the syscall would have.
			m, _ = linuxaio.GetEvents(b.ctx, 1, b.evs[got:k], true)
			m = max(m, 0)
		}
		for _, ev := range b.evs[got : got+m] {
			took(b.reqs[ev.Data], ev.Res)
		}
		got += m
	}
	return k
}

// prepBatch fills k with r's attempt with RWF_* flags, tagged i.
func (r *request) prepBatch(k *linuxaio.Iocb, i int, flags int) {
	*k = linuxaio.Iocb{Data: uint64(i), Fildes: uint32(r.fd), Offset: r.pos}
	k.RWFlags = int32(flags)
	if len(r.iov) == 1 {
		k.LioOpcode = linuxaio.CmdPRead
		k.Buf, k.Nbytes = linuxaio.IovBase(&r.iov[0]), uint64(r.iov[0].Len)
	} else {
		k.LioOpcode = linuxaio.CmdPReadv
		k.Buf, k.Nbytes = linuxaio.IovPtr(r.iov), uint64(len(r.iov))
	}
	if r.op.Writes() {
		k.LioOpcode++ // CmdPWrite, CmdPWritev
	}
}

// tookBatch records what the batch's attempt of r gave: a transfer (or
// EOF) for Retry to account, a miss, or nothing for r to act on (it then
// attempts itself).
func (r *request) tookBatch(res int64) {
	switch {
	case res >= 0:
		r.wres, r.hasWres = res, true
	case res == -int64(unix.EAGAIN):
		r.missed = true
	}
}

// close gives back the batch's AIO context: Destroy, once the context is
// idle (no Submit is using it).
func (b *inlineBatch) close() {
	b.mu.Lock()
	b.closed = true
	if b.ctx != 0 { // the explorer's has none
		linuxaio.Destroy(b.ctx)
	}
	b.mu.Unlock()
}

// Offloaded buffered writes go to the kernel in batches too. ext4 (and
// most file systems) refuses RWF_NOWAIT for buffered writes, so they all
// reach the offload workers, where each took a kernel entry and the inode
// lock of its file, and the workers of one file spun on that lock (a
// quarter of aio-stress's CPU in its write stage). A worker that takes a
// buffered write now also takes the writes to the same file queued behind
// it, up to offBatchMax, and makes them in one blocking io_submit on the
// context's second batch AIO context (c.offBatch): Linux runs them one
// after the other inside it, as the inode lock would have had them run
// anyway. Writes to other files stay with the other workers, in parallel,
// and reads are not batched here: an uncached read waits for the disk,
// and the workers' reads wait for it side by side.

// offBatchMax bounds a worker's batch of writes; offScanMax how far down
// the offload queue it looks for them.
const (
	offBatchMax = 64
	offScanMax  = 64
)

// writeBatchable reports whether r, offloaded, is a buffered write that a
// worker may make in a batch: not with the caller's RWF_NOWAIT, whose
// refusal (EOPNOTSUPP) is the result.
//
// Under the schedule explorer (Explorer.BatchWrites) every offloaded
// request counts as a write to one file: the workers' batching, their
// leaving a batch's writes to it, and its kicks are the engine's own
// code, and only the syscalls are the explorer's (one Blocking each).
func (r *request) writeBatchable() bool {
	if x := r.ctx.x; x != nil {
		return x.BatchWrites
	}
	return r.path == pathInline && r.op.Writes() && !r.userWait
}

// takeWritesLocked is an offload worker that took r (group[0]), a
// buffered write whose entry was followed by next, taking the writes to
// r's file queued behind it into group. It returns how many requests
// group holds, and the batch AIO context, locked, when that is more than
// one. Hold c.offq.Mu.
func (c *Context) takeWritesLocked(r *request, next *waitq.Entry, group *[offBatchMax]*request) (int, *inlineBatch) {
	group[0] = r
	if !r.writeBatchable() {
		return 1, nil
	}
	var b *inlineBatch
	n := 1
	for e, scanned := next, 0; e != nil && n < len(group) && scanned < offScanMax; scanned++ {
		w := e.W.(*request)
		e = e.NextLocked()
		if !w.writeBatchable() || w.devino != r.devino {
			continue
		}
		if b == nil {
			if b = c.batchCtx(&c.offBatch); b == nil || !b.mu.TryLock() {
				return 1, nil // another worker batches: this one writes alone
			}
			if b.closed {
				b.mu.Unlock()
				return 1, nil
			}
		}
		c.k.TakeOffloadLocked(&c.offq, &w.k)
		group[n] = w
		n++
	}
	if n > 1 {
		c.offBusy, c.offBusyDev = true, r.devino
	}
	return n, b
}

// firstOffloadLocked is the entry an offload worker takes next: the first
// on the queue but for the writes to a file whose batch another worker is
// making, which are left for it (it takes them when it is done, in the
// order they came, rather than this worker's writing them one by one
// beside it, waiting for the same inode lock). Past offScanMax of those
// it takes the next anyway. Hold c.offq.Mu.
func (c *Context) firstOffloadLocked() *waitq.Entry {
	e := c.offq.FirstLocked()
	if !c.offBusy {
		return e
	}
	for scanned := 0; e != nil && scanned < offScanMax; scanned++ {
		if w := e.W.(*request); !w.writeBatchable() || w.devino != c.offBusyDev {
			return e
		}
		e = e.NextLocked()
	}
	if e == nil {
		return nil
	}
	return c.offq.FirstLocked()
}

// blockingWrites makes group's writes, taken by an offload worker, in one
// io_submit on b (locked), and sets each one's result (wres). A write the
// kernel did not take, or whose event says EINTR, EAGAIN or EOPNOTSUPP,
// is made alone, as blocking makes it. It returns how many the kernel
// took in the batch (the worker counts them in Stats.Batched).
func (c *Context) blockingWrites(b *inlineBatch, group []*request) (took int) {
	for _, w := range group {
		w.hasWres = false
	}
	if c.x == nil { // the explorer's syscalls are its Blocking, below
		for i, w := range group {
			w.prepBatch(&b.kios[i], i, w.rwflags)
			b.ptrs[i], b.reqs[i] = linuxaio.Addr(&b.kios[i]), w
		}
		took = b.run(len(group), false, (*request).tookWrite)
	}
	b.mu.Unlock()
	if !c.sabotaged(func(s *Sabotage) bool { return s.BatchStaysBusy }) {
		c.offq.Mu.Lock()
		c.offBusy = false
		c.offq.Mu.Unlock()
	}
	for _, w := range group {
		if !w.hasWres {
			w.wres, w.hasWres = c.blocking(w), true
		}
	}
	return took
}

// tookWrite records the result of an offloaded write made in a batch.
func (r *request) tookWrite(res int64) {
	switch res {
	case -int64(unix.EINTR), -int64(unix.EAGAIN), -int64(unix.EOPNOTSUPP):
	default:
		r.wres, r.hasWres = res, true
	}
}
