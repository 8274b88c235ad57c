package retry

import (
	"sync"

	"github.com/kaio-go/kaio/internal/linuxaio"
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

// inlineBatch is a context's AIO context for first attempts.
type inlineBatch struct {
	mu     sync.Mutex // held by the submitter using it, and by Destroy
	closed bool       // guarded by mu
	ctx    linuxaio.Context
	ring   linuxaio.Ring
	mapped bool
	kios   [batchMax]linuxaio.Iocb
	ptrs   [batchMax]uintptr
	reqs   [batchMax]*request
	evs    [batchMax]linuxaio.Event
}

// batchOff is what Context.batch holds when Linux AIO is refused or off.
var batchOff = new(inlineBatch)

// inlineBatch returns the context's batch AIO context, setting it up at the
// first use, or nil when there is none.
func (c *Context) inlineBatch() *inlineBatch {
	b := c.batch.Load()
	if b == nil {
		c.k.Mu.Lock()
		if b = c.batch.Load(); b == nil {
			b = batchOff
			if !c.noAIO && !c.dead {
				if ctx, hdr, err := linuxaio.Setup(batchMax); err == nil {
					b = &inlineBatch{ctx: ctx}
					b.mapped = b.ring.Map(hdr)
				}
			}
			c.batch.Store(b)
		}
		c.k.Mu.Unlock()
	}
	if b == batchOff {
		return nil
	}
	return b
}

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
			r.prepBatch(&b.kios[n], n)
			b.ptrs[n], b.reqs[n] = linuxaio.Addr(&b.kios[n]), r
			n++
		}
	}
	took := 0
	for took < n {
		var k int
		var e unix.Errno
		if bytes <= batchRawMax {
			k, e = linuxaio.SubmitRaw(b.ctx, b.ptrs[took:n])
		} else {
			k, e = linuxaio.Submit(b.ctx, b.ptrs[took:n])
		}
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			break // the rest attempt themselves
		}
		took += k
	}
	ring := &b.ring
	if !b.mapped {
		ring = nil
	}
	for got := 0; got < took; {
		m := linuxaio.Reap(b.ctx, ring, b.evs[got:took])
		if m == 0 {
			// Not yet complete, which no buffered read or write with
			// IOCB_NOWAIT does today: wait for it, as the syscall
			// would have.
			m, _ = linuxaio.GetEvents(b.ctx, 1, b.evs[got:took], true)
			m = max(m, 0)
		}
		for _, ev := range b.evs[got : got+m] {
			b.reqs[ev.Data].tookBatch(ev.Res)
		}
		got += m
	}
	c.k.Mu.Lock()
	c.stats.Batched += uint64(took)
	c.k.Mu.Unlock()
}

// prepBatch fills k with r's first attempt, tagged i.
func (r *request) prepBatch(k *linuxaio.Iocb, i int) {
	*k = linuxaio.Iocb{Data: uint64(i), Fildes: uint32(r.fd), Offset: r.pos}
	k.RWFlags = int32(r.rwflags | unix.RWF_NOWAIT)
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
	linuxaio.Destroy(b.ctx)
	b.mu.Unlock()
}
