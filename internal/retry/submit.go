//go:build linux

package retry

import (
	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kick"
	"golang.org/x/sys/unix"
)

// batchMax bounds how many iocbs Submit takes under one acquisition of
// ctx_lock: it validates a batch without the lock, reserves its slots in one
// critical section, runs each first iteration, and posts the ones that
// completed inline in one more.
const batchMax = 64

// plan is what validation decided for one iocb.
type plan struct {
	fd       int // the fd the request works on (core.Check's FdInfo.Fd)
	path     path
	seekable bool
	nowait   bool
	devino   devIno
	flags    int
}

// fdCache is what one Submit call learns about fds: core.Check's FdInfo
// (the last fd looked at), and this context's record of RWF_NOWAIT refusals
// for that file.
type fdCache struct {
	core.FdInfo
	nowaitFd int   // the fd nowaitNo was read for, or -1
	nowaitNo uint8 // reads (1) / writes (2) of the file refuse RWF_NOWAIT
}

// Reset forgets every fd.
func (fc *fdCache) Reset() {
	fc.FdInfo.Reset()
	fc.nowaitFd = -1
}

// check validates i as io_submit does (core.Check: the same errnos on every
// engine, nothing taken) and plans its first iteration.
func (c *Context) check(i *core.Iocb, fc *fdCache, pl *plan) error {
	if err := core.Check(i, &fc.FdInfo); err != nil {
		return err
	}
	*pl = plan{fd: i.Fd}
	fi := &fc.FdInfo
	switch {
	case i.Op == core.OpNoop:
		pl.path = pathNone
		return nil // the fd is ignored, and fi may describe another
	case i.Op == core.OpPoll:
		pl.path = pathReady
	case i.Op == core.OpFSync || i.Op == core.OpFDSync:
		pl.path = pathSync
	case !fi.Seekable():
		pl.path = pathPoll
	case fi.Direct():
		pl.path = pathDirect
	default:
		pl.path = pathInline
	}
	pl.fd = fi.Fd
	pl.seekable = fi.Seekable()
	pl.devino = devIno{fi.Dev, fi.Ino}
	pl.flags = fi.Flags
	if pl.path == pathInline && fc.nowaitFd != fi.Fd {
		c.k.Mu.Lock()
		fc.nowaitNo = c.nowaitNo[pl.devino]
		c.k.Mu.Unlock()
		fc.nowaitFd = fi.Fd
	}
	pl.nowait = pl.path == pathPoll || pl.path == pathInline && fc.nowaitNo&dirBit(i.Op) == 0
	return nil
}

// Submit implements core.Backend.
func (c *Context) Submit(iocbs []*core.Iocb) (int, error) { return c.SubmitHint(iocbs, nil) }

// SubmitHint is Submit with what the caller knows of an fd it keeps open
// throughout (see core.FdInfo.Hint); hint may be nil.
func (c *Context) SubmitHint(iocbs []*core.Iocb, hint *core.FdInfo) (int, error) {
	var fc fdCache
	fc.Reset()
	fc.Use(hint)
	var plans [batchMax]plan
	var reqs [batchMax]*request
	var results [batchMax]int64
	n := 0
	for n < len(iocbs) {
		chunk := iocbs[n:min(len(iocbs), n+batchMax)]
		ok := 0
		var err error
		for ; ok < len(chunk); ok++ {
			if err = c.check(chunk[ok], &fc, &plans[ok]); err != nil {
				break
			}
		}
		got, rerr := c.submitChunk(chunk[:ok], plans[:ok], reqs[:ok], results[:ok])
		if rerr != nil {
			err = rerr
		}
		n += got
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// submitChunk takes iocbs, checked and planned (at most batchMax), runs
// their first iterations on this goroutine, posts those that finished in
// one critical section, and hands the O_DIRECT reads and writes of the
// batch to the kernel in one io_submit. It returns how many it took and
// why it stopped short (reserve's EINVAL or EAGAIN).
func (c *Context) submitChunk(iocbs []*core.Iocb, plans []plan, reqs []*request, results []int64) (int, error) {
	got, err := c.reserve(iocbs, reqs, false)
	for j := 0; j < got; j++ {
		reqs[j].setup(iocbs[j], &plans[j])
	}
	c.attemptBatch(reqs[:got])
	done := 0
	for j := 0; j < got; j++ {
		r := reqs[j]
		res, fin, a := c.k.RunFirst(&r.k, c)
		if fin {
			reqs[done], results[done] = r, res
			done++
		}
		kick.Finish(a, &r.k.Note, c)
	}
	c.completeBatch(reqs[:done], results[:done])
	c.flushAIO() // the first iterations of O_DIRECT reads and writes and fsyncs queued for io_submit
	return got, err
}

// reserve takes a request and a ring slot (unless sync) for each iocb, in
// one critical section, and marks each request running. It stops at the
// first it cannot take: EINVAL (context destroyed, iocb already in
// flight), EAGAIN (ring full).
func (c *Context) reserve(iocbs []*core.Iocb, reqs []*request, sync bool) (int, error) {
	if len(iocbs) == 0 {
		return 0, nil
	}
	c.k.Mu.Lock()
	defer c.k.Mu.Unlock()
	if c.dead {
		return 0, core.ErrDestroyed()
	}
	for j, i := range iocbs {
		var r *request
		if sync {
			r = c.freeSync
			if r == nil {
				r = &request{sync: true}
				c.initRequest(r, -1)
				r.k.Sync = true
				r.k.Note.Init()
				r.aioIndex = len(c.reqs) + len(c.syncAIO)
				c.syncAIO = append(c.syncAIO, r)
			} else {
				c.freeSync = r.nextFree
			}
		} else {
			if !c.ring.Reserve() {
				return j, c.ring.ErrFull()
			}
			r = c.free
			c.free = r.nextFree
		}
		if !i.Take(&r.claim) {
			if sync {
				r.nextFree, c.freeSync = c.freeSync, r
			} else {
				r.nextFree, c.free = c.free, r
				c.ring.Release()
			}
			return j, core.ErrInFlight()
		}
		c.inflight++
		c.stats.Submitted++
		r.iocb = i
		c.k.ResetLocked(&r.k)
		if sync {
			c.linkActiveLocked(r) // the ring's requests are found in c.reqs
		}
		reqs[j] = r
	}
	return len(iocbs), nil
}

// setup copies what the request needs from its iocb. The request is
// running and not yet visible to wakers, so no lock is needed.
func (r *request) setup(i *core.Iocb, pl *plan) {
	r.op = i.Op
	r.data = i.Data
	r.path = pl.path
	r.fd = pl.fd
	r.rwflags = i.RWFlags &^ unix.RWF_NOWAIT
	r.userWait = i.RWFlags&unix.RWF_NOWAIT != 0
	r.events = i.Events
	r.resfd = -1
	if i.Flags&core.FlagResFd != 0 {
		r.resfd = i.ResFd
	}
	r.ownFd, r.ownResFd, r.viaAIO, r.aioRefused, r.retryCounted = false, false, false, false, false
	r.seekable = pl.seekable
	r.nowait = pl.nowait
	r.devino = pl.devino
	r.flags = pl.flags
	r.pos = i.Offset
	r.done = 0
	r.attempts = 0
	r.hasWres, r.missed = false, false
	r.reg = nil
	r.wakeMask = 0
	r.ready = false
	switch pl.path {
	case pathNone, pathSync, pathReady:
		r.iov, r.left = nil, 0
	default:
		r.setIov(i)
	}
}

// prepare is check, reserve and setup for one sync iocb (Do).
func (c *Context) prepare(i *core.Iocb, fc *fdCache, sync bool) (*request, error) {
	var pl plan
	if err := c.check(i, fc, &pl); err != nil {
		return nil, err
	}
	var reqs [1]*request
	if _, err := c.reserve([]*core.Iocb{i}, reqs[:], sync); err != nil {
		return nil, err
	}
	reqs[0].setup(i, &pl)
	return reqs[0], nil
}
