package retry

import (
	"os"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// This file is Linux 2.6's split, which the retry engine follows: O_DIRECT
// reads and writes are asynchronous in the kernel, so they go to Linux AIO
// with the request's own iocb, and the kernel's completion is the wake
// that kicks the request (kick.HandOff, then kick.Kick from the reaper);
// fsync and fdatasync go there too (the kernel runs them in a workqueue
// since 4.18). Buffered I/O keeps the retry path. Where Linux AIO is
// refused (ENOSYS, EPERM from a seccomp filter, EAGAIN at fs.aio-max-nr),
// these requests go to the offload workers as before.
//
// The kernel takes its own reference to the request's file at io_submit,
// which happens inside Submit (or Do): such a request owns its file
// without a duplicate of the fd. A short transfer ends the request with
// what the kernel moved (EOF, or an error past some progress), as
// io_submit's result does; it is not continued, which would need the fd
// again.
//
// Completions come through the AIO context's ring, which the kernel
// signals on an eventfd (IOCB_FLAG_RESFD); the reaper goroutine waits for
// that eventfd in the Go runtime's poller, so it holds no thread while it
// waits, reaps the ring in user space, kicks the requests and runs them
// itself.

// aioQueue is a retry context's Linux AIO context.
type aioQueue struct {
	ctx    linuxaio.Context
	ring   linuxaio.Ring // the mapped completion ring, when its layout is known
	mapped bool
	evfd   *os.File // the eventfd every iocb signals, in the Go poller

	// Guarded by Context.k.Mu: iocbs waiting for the submitter's flush,
	// and whether the kernel refused fsync (before 4.18).
	pending *request
	noFsync bool

	// The reaper's: io_getevents' buffer when the ring is not mapped,
	// and the eventfd's read buffer.
	evs [64]linuxaio.Event
	buf [8]byte
}

// aioOff is what Context.aio holds when Linux AIO was tried and refused.
var aioOff = new(aioQueue)

// kernelQueue returns the context's Linux AIO queue, setting it up (and
// starting its reaper) on first use, or nil when Linux AIO is not usable
// here. Hold k.Mu.
func (c *Context) kernelQueueLocked() *aioQueue {
	if c.aio == nil {
		c.aio = aioOff
		if c.noAIO {
			return nil
		}
		q, err := newAIOQueue(c.nr + syncAIOSlots)
		if err != nil {
			return nil
		}
		c.aio = q
		c.goLocked(func() { c.aioReaper(q) })
	}
	if c.aio == aioOff {
		return nil
	}
	return c.aio
}

// syncAIOSlots is how many kernel slots are kept beyond nrEvents for Do.
const syncAIOSlots = 64

func newAIOQueue(nr int) (*aioQueue, error) {
	ctx, hdr, err := linuxaio.Setup(nr)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		linuxaio.Destroy(ctx)
		return nil, err
	}
	q := &aioQueue{ctx: ctx, evfd: os.NewFile(uintptr(efd), "kaio-aio-eventfd")}
	q.mapped = q.ring.Map(hdr)
	return q, nil
}

// toKernel is the retry of an O_DIRECT read or write or an fsync where
// Linux AIO is usable: r's iocb is prepared and queued for the
// submitter's flush (flushAIO), and r waits for the kernel's completion.
// It falls back to the offload workers when the kernel is not usable or
// refused r before.
func (c *Context) toKernel(r *request) (int64, bool) {
	c.k.Mu.Lock()
	q := c.kernelQueueLocked()
	if q == nil || r.op.Syncs() && q.noFsync {
		c.k.Mu.Unlock()
		return c.offload(r)
	}
	c.k.Mu.Unlock()
	if e := r.holdResFd(); e != 0 {
		return r.failed(e), false
	}
	r.prepAIO(q)
	if !c.k.HandOff(&r.k) {
		r.pin.Unpin()
		return -int64(unix.ECANCELED), false
	}
	r.viaAIO = true
	c.k.Mu.Lock()
	c.stats.LinuxAIO++
	r.nextAIO = q.pending
	q.pending = r
	c.k.Mu.Unlock()
	return 0, true
}

// prepAIO fills r's iocb for its op and pins what the kernel will read or
// write: the buffers and the iovec array, from io_submit to the reaper.
func (r *request) prepAIO(q *aioQueue) {
	if r.kio == nil {
		r.kio = new(linuxaio.Iocb) // a heap object of its own, pinned alone
	}
	k := r.kio
	*k = linuxaio.Iocb{Data: uint64(r.aioIndex), Fildes: uint32(r.fd), Flags: linuxaio.FlagResFd, Resfd: uint32(q.evfd.Fd())}
	r.pin.Pin(k)
	switch r.op {
	case core.OpFSync:
		k.LioOpcode = linuxaio.CmdFSync
		return
	case core.OpFDSync:
		k.LioOpcode = linuxaio.CmdFDSync
		return
	}
	k.RWFlags = int32(r.rwflags)
	if r.userWait {
		k.RWFlags |= unix.RWF_NOWAIT // the caller's: EAGAIN over a dirty range
	}
	k.Offset = r.pos
	k.LioOpcode = linuxaio.CmdPReadv
	if r.op.Writes() {
		k.LioOpcode = linuxaio.CmdPWritev
	}
	for j := range r.iov {
		r.pin.Pin(r.iov[j].Base)
	}
	if len(r.iov) > 0 {
		r.pin.Pin(&r.iov[0])
		k.Buf = linuxaio.IovPtr(r.iov)
	}
	k.Nbytes = uint64(len(r.iov))
}

// flushAIO hands the queued iocbs to the kernel with io_submit, as many a
// call as it takes. An iocb the kernel refuses kicks its request at once:
// with the errno as its result, or, for EAGAIN (the kernel context is
// full) and for an fsync the kernel cannot do asynchronously, to be done
// by the offload workers instead. Submit and Do call it after the first
// iterations of their iocbs, on the caller's goroutine: the caller's fds
// are the ones the kernel references.
func (c *Context) flushAIO() {
	c.k.Mu.Lock()
	q := c.aio
	if q == nil || q.pending == nil {
		c.k.Mu.Unlock()
		return
	}
	list := q.pending
	q.pending = nil
	c.k.Mu.Unlock()
	var ptrs [64]uintptr
	var reqs [64]*request
	ran := false
	for list != nil {
		n := 0
		for ; list != nil && n < len(ptrs); n++ {
			r := list
			list, r.nextAIO = r.nextAIO, nil
			ptrs[n], reqs[n] = linuxaio.Addr(r.kio), r
		}
		done := 0
		for done < n {
			k, e := linuxaio.Submit(q.ctx, ptrs[done:n])
			switch e {
			case 0:
				done += k
				continue
			case unix.EINTR:
				continue
			}
			// reqs[done] is refused; the kernel took none after it.
			r := reqs[done]
			switch {
			case e == unix.EAGAIN:
				r.aioRefused = true
			case e == unix.EINVAL && r.op.Syncs():
				c.k.Mu.Lock()
				q.noFsync = true // before 4.18: no IOCB_CMD_FSYNC
				c.k.Mu.Unlock()
				r.aioRefused = true
			default:
				r.wres, r.hasWres = -int64(e), true
			}
			ran = c.kickHeld(r) || ran
			done++
		}
	}
	if ran {
		c.runAll()
	}
}

// kickHeld delivers the kick owed for r, which the kernel did not take or
// has completed, and reports whether r went onto the run list.
func (c *Context) kickHeld(r *request) bool {
	note := &r.k.Note
	a := c.k.Kick(&r.k)
	if a == kick.Queued {
		return true
	}
	kick.Finish(a, note, c)
	return false
}

// aioReaper takes in the kernel's completions: it waits for the eventfd
// in the Go poller, reads the ring, kicks each request with its result
// and runs what it kicked, as an offload worker does.
func (c *Context) aioReaper(q *aioQueue) {
	for {
		n := q.reap()
		if n == 0 {
			if _, err := q.evfd.Read(q.buf[:]); err != nil {
				return // closed by Destroy
			}
			continue
		}
		// The results are written under k.Mu: the race detector does
		// not see that the kernel's completion comes after the
		// submitter's writes to the request.
		var reqs [len(q.evs)]*request
		c.k.Mu.Lock()
		for j, ev := range q.evs[:n] {
			r := c.aioRequestLocked(int(ev.Data))
			r.wres, r.hasWres = ev.Res, true
			reqs[j] = r
		}
		c.k.Mu.Unlock()
		ran := false
		for _, r := range reqs[:n] {
			ran = c.kickHeld(r) || ran
		}
		if ran {
			c.runAll()
		}
	}
}

// reap moves up to len(q.evs) completions into q.evs.
func (q *aioQueue) reap() int {
	if !q.mapped {
		n, _ := linuxaio.GetEvents(q.ctx, 0, q.evs[:], false)
		return max(n, 0)
	}
	h, t := q.ring.LoadHead(), q.ring.LoadTail()
	nr := uint32(len(q.ring.Events))
	n := 0
	for h != t && n < len(q.evs) {
		if h >= nr || t >= nr {
			panic("kaio: inconsistent aio_ring head/tail")
		}
		q.evs[n] = q.ring.Events[h]
		n++
		if h++; h == nr {
			h = 0
		}
	}
	q.ring.StoreHead(h)
	return n
}

// fromKernel takes in what Linux AIO did with r: its result, or a refusal
// that sends it to the offload workers. It reports whether r is done, and
// with what. The pins go (the kernel is done with the memory), and a short
// transfer ends r with what moved.
func (c *Context) fromKernel(r *request) (res int64, done bool) {
	r.viaAIO = false
	r.pin.Unpin()
	if r.aioRefused {
		r.aioRefused = false
		return 0, false
	}
	r.hasWres = false
	if r.wres < 0 {
		return r.failed(unix.Errno(-r.wres)), true
	}
	return r.done + r.wres, true
}

// aioRequestLocked maps an iocb's aio_data to its request. Hold k.Mu.
func (c *Context) aioRequestLocked(i int) *request {
	if i < len(c.reqs) {
		return &c.reqs[i]
	}
	return c.syncAIO[i-len(c.reqs)]
}
