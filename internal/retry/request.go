//go:build linux

package retry

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"github.com/kaio-go/kaio/internal/poller"
	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// path is how a request's I/O is attempted.
type path uint8

const (
	pathNone     path = iota // NOOP
	pathInline               // regular file, buffered: RWF_NOWAIT inline, offload on EAGAIN
	pathDirect               // O_DIRECT: Linux AIO, else offload workers
	pathPoll                 // pipe, socket, eventfd, tty: non-blocking attempt, poller wait
	pathBlocking             // an fd that can't be polled nor done without blocking: offload
	pathSync                 // fsync, fdatasync: Linux AIO, else offload
	pathReady                // OPPOLL: poll(2), then the poller
)

// request is the retry engine's kiocb. Requests of a context are allocated
// at Setup (one per ring slot, so the hot path allocates nothing) and reused;
// Do uses requests from a separate free list.
type request struct {
	claim core.Claim
	k     kick.Req
	ctx   *Context
	sync  bool

	// Set at submit, read by whoever runs the request (the runner and the
	// offload worker that holds it; hand-offs happen under ctx.k.Mu).
	iocb    *core.Iocb
	data    uint64 // iocb.Data
	op      core.Op
	path    path
	rwflags int
	events  uint32
	// fd and resfd are the caller's Iocb.Fd and Iocb.ResFd (-1: none) while
	// the request runs inside Submit; once it has to wait (hold), they are
	// duplicates the request owns (owned), so that closing or reusing the
	// caller's numbers cannot change which file it touches or which
	// eventfd it signals: the kernel's file references in a kiocb.
	fd       int
	resfd    int
	ownFd    bool
	ownResFd bool
	seekable bool // pass the offset; else -1 (file position)
	nowait   bool // try RWF_NOWAIT (cleared after EOPNOTSUPP)
	userWait bool // the user asked for RWF_NOWAIT: EAGAIN is a result
	devino   devIno
	flags    int      // the fd's F_GETFL at Submit
	fref     *fileRef // the shared duplicate fd is, when ownFd (pathInline)

	// Progress (ki_pos, ki_left): owned by the runner, or by the offload
	// worker between TakeOffloadLocked and its kick.
	pos      int64
	done     int64
	left     int64
	iov      []unix.Iovec // what is left to transfer
	iovStore []unix.Iovec // backing array, reused across incarnations
	attempts int

	// wres is the offload worker's syscall result (bytes or -errno), written
	// before its kick and read by the next iteration.
	wres    int64
	hasWres bool
	// missed: the batch's RWF_NOWAIT attempt (batch_linux.go) found the
	// data not cached; the first iteration offloads at once.
	missed bool
	// deferred: r is on the deferred-write queue, counted in
	// ctx.deferN, and no GetEvents has taken it yet (defer_linux.go).
	// Guarded by ctx.k.Mu.
	deferred bool

	// wakeMask collects the readiness the wake callbacks saw, for OPPOLL:
	// like the kernel's aio_poll_wake, a poll completes with the events
	// that woke it even if a reader consumed them before the retry.
	wakeMask uint32

	// ready: pathBlocking's wait for readiness is done; the blocking call
	// comes next.
	ready bool

	// reg is the poller registration of fd, made at the first wait on
	// the poller.
	reg *poller.Reg

	// Linux AIO (aio_linux.go): the request's own iocb, made at its
	// first use, and the pins of the memory the kernel uses; its index
	// in the aio_data of its completions; the queue of iocbs waiting for
	// the submitter's flush (guarded by ctx.k.Mu). viaAIO: the result
	// to take in is the kernel's; aioRefused: the kernel refused the
	// iocb, and the offload workers do it.
	kio        *linuxaio.Iocb
	pin        runtime.Pinner
	aioIndex   int
	nextAIO    *request
	viaAIO     bool
	aioRefused bool

	// retryCounted: this iteration's retry is in Stats.Retries already
	// (completeAIO counts it in the critical section it takes anyway).
	retryCounted bool

	// result, for sync requests: written by Complete on the Do goroutine.
	result int64

	// active list links and index; guarded by ctx.k.Mu.
	nextActive, prevActive *request
	nextFree               *request
}

// Wake is the wake callback of the request's wait entry (aio_wake_function),
// run by a wait queue with its lock held.
func (r *request) Wake(q *waitq.Queue, e *waitq.Entry, mask uint32) {
	c, note := r.ctx, &r.k.Note // read before the kick: after it, r is not ours
	// The entry is linked on q and q.Mu is held, so r cannot complete (that
	// needs the entry unlinked) and its runner is not reading wakeMask (it
	// reads it only after this kick, through ctx_lock).
	r.wakeMask |= mask
	a := c.k.Wake(q, &r.k)
	kick.Finish(a, note, c)
}

// setIov builds the request's iovecs from the iocb's buffers.
func (r *request) setIov(i *core.Iocb) {
	if r.op.Vectored() {
		r.iov = core.AppendIovecs(r.iovStore[:0], 0, nil, i.Iov...)
	} else {
		r.iov = core.AppendIovecs(r.iovStore[:0], 0, nil, i.Buf)
	}
	r.iovStore = r.iov[:0]
	r.left = i.Len()
}

// advance records n bytes of progress.
func (r *request) advance(n int64) {
	r.done += n
	r.left -= n
	if r.seekable {
		r.pos += n
	}
	for n > 0 && len(r.iov) > 0 {
		l := int64(r.iov[0].Len)
		if n < l {
			r.iov[0].Base = addPtr(r.iov[0].Base, n)
			r.iov[0].SetLen(int(l - n))
			return
		}
		n -= l
		r.iov = r.iov[1:]
	}
}

func (r *request) off() int64 {
	if r.seekable {
		return r.pos
	}
	return -1
}
