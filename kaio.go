package kaio

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// Context is an AIO context: a bounded completion ring, the requests in
// flight, and the engine that runs them. All methods are safe for concurrent
// use.
type Context struct {
	be     engineContext
	engine Engine
	nr     int

	regMu      sync.Mutex
	registered bool // RegisterBuffers succeeded and UnregisterBuffers has not run
	files      bool // RegisterFiles succeeded and UnregisterFiles has not run
	destroyed  bool
}

// Setup creates a context with room for nrEvents completions: it never holds
// more than nrEvents requests in flight or completed and not yet reaped.
// nrEvents <= 0, and nrEvents above 1<<20 (1048576), give EINVAL. The
// kernel engines may refuse sizes below that: native with EAGAIN when
// nrEvents (plus the 64 slots it keeps for Do) is over fs.aio-max-nr, or
// the contexts of the whole machine have used it up (fs.aio-nr); uring
// with ENOMEM when its rings do not fit under RLIMIT_MEMLOCK (a process
// without CAP_IPC_LOCK); either with EPERM under a seccomp filter, and
// uring under kernel.io_uring_disabled. The error is then a *SetupError
// that names the limit and its current values and wraps the errno
// (errors.Is(err, syscall.EAGAIN) holds).
func Setup(nrEvents int, opts ...Option) (*Context, error) {
	cfg := config{engine: EngineAuto}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case nrEvents <= 0:
		return nil, setupError(nrEvents, cfg.engine, "nrEvents must be at least 1 (EINVAL)", syscall.EINVAL)
	case nrEvents > maxEvents:
		return nil, setupError(nrEvents, cfg.engine, "nrEvents above the bound of 1<<20 (1048576) (EINVAL)", syscall.EINVAL)
	case cfg.workers < 0:
		return nil, setupError(nrEvents, cfg.engine, fmt.Sprintf("WithWorkers(%d): a negative number of workers (EINVAL)", cfg.workers), syscall.EINVAL)
	}
	eng := cfg.engine
	if eng == EngineAuto {
		eng = autoEngine()
	}
	be, err := newBackend(eng, nrEvents, &cfg)
	if err != nil {
		return nil, setupError(nrEvents, eng, setupReason(eng, nrEvents, err), err)
	}
	return &Context{be: be, engine: eng, nr: nrEvents}, nil
}

// maxEvents bounds nrEvents. A ring of 1<<20 events is 32 MiB of Events;
// more is taken for a mistake and refused with EINVAL before any engine is
// asked (Linux AIO's own bound, fs.aio-max-nr, is 65536 by default, for
// all the contexts of the machine together).
const maxEvents = 1 << 20

// Engine returns the engine the context actually runs on (never EngineAuto).
func (c *Context) Engine() Engine { return c.engine }

// Submit queues iocbs in order and stops at the first it refuses. It returns
// how many it accepted and, when that is fewer than len(iocbs), an error
// saying why the next was refused: EAGAIN (ring full), EBADF (fd not open,
// or not open for that direction), EINVAL (bad op, offset, flags, O_DIRECT
// alignment, an iocb already in flight, a destroyed context).
func (c *Context) Submit(iocbs ...*Iocb) (int, error) { return c.be.submit(iocbs) }

// GetEvents copies up to len(events) completions into events, waiting until
// at least minNr are available or timeout passes: timeout < 0 waits forever,
// 0 never sleeps. It returns how many it copied, which on timeout may be
// fewer than minNr with a nil error. minNr outside [0, len(events)] is EINVAL.
// A GetEvents still waiting when Destroy starts returns 0 and EINVAL.
func (c *Context) GetEvents(minNr int, events []Event, timeout time.Duration) (int, error) {
	return c.be.getEvents(context.Background(), minNr, events, timeout)
}

// GetEventsContext is GetEvents bounded by ctx instead of a timeout. When ctx
// ends first it returns what it has, and ctx.Err() if that is nothing.
func (c *Context) GetEventsContext(ctx context.Context, minNr int, events []Event) (int, error) {
	return c.be.getEvents(ctx, minNr, events, -1)
}

// Cancel starts cancelling iocb. It returns nil when cancellation is done or
// under way; the iocb's event (-ECANCELED, or its real result if it finished
// first) still arrives through the ring. EINVAL: iocb is not in flight on
// this context. EAGAIN: it cannot be cancelled now (a blocking syscall is
// already under way).
func (c *Context) Cancel(iocb *Iocb) error { return c.be.cancel(iocb) }

// Do runs iocb on the calling goroutine through the same machinery as Submit
// and returns its event. It uses no ring slot. Errors that Submit would
// return are returned as the event's Res (a negative errno).
func (c *Context) Do(iocb *Iocb) Event { return c.be.do(iocb) }

// Stats returns the context's counters.
func (c *Context) Stats() Stats { return c.be.stats() }

// Destroy cancels everything in flight, waits until every request has ended,
// and releases every goroutine, fd and mapping the context owns. Events not
// reaped are dropped, including those a GetEvents asleep at that moment was
// waiting to return: it returns 0 and EINVAL. Later calls on the context
// return EINVAL.
func (c *Context) Destroy() error {
	err := c.be.destroy()
	forgetFileRing(c)
	c.regMu.Lock()
	c.destroyed, c.registered = true, false
	if c.files {
		c.be.unregisterFiles()
		c.files = false
	}
	c.regMu.Unlock()
	return err
}

// maxRegBuffers and maxRegBufferLen are io_uring's limits on registered
// buffers (IORING_MAX_REG_BUFFERS, 1 GiB each); kaio applies them to every
// engine, so that code that registers works the same on all of them.
const (
	maxRegBuffers   = 1 << 14
	maxRegBufferLen = 1 << 30
)

// RegisterBuffers hands bufs to the engine for the life of the context, as
// liburing's io_uring_register_buffers and fio's fixedbufs do. On the uring
// engine, a PREAD or PWRITE whose Buf lies wholly inside one of them is
// issued as IORING_OP_READ_FIXED/WRITE_FIXED: the kernel pinned those
// pages once, at registration, and skips get_user_pages on every I/O. Other
// reads and writes are unaffected, and on the retry and native engines the
// call is accepted and changes nothing. The context keeps bufs reachable
// (and the kernel keeps their pages) until UnregisterBuffers or Destroy;
// the caller must not reuse the memory for anything else meanwhile.
//
// Errors, on every engine: EINVAL for no buffers, an empty one, more than
// 16384 or one over 1 GiB, or a destroyed context; EBUSY when buffers are
// registered already. On uring the kernel may also refuse: ENOMEM (the
// locked-memory limit), EFAULT (memory it cannot pin, such as a file
// mapping on some file systems).
func (c *Context) RegisterBuffers(bufs ...[]byte) error {
	if len(bufs) == 0 || len(bufs) > maxRegBuffers {
		return syscall.EINVAL
	}
	for _, b := range bufs {
		if len(b) == 0 || len(b) > maxRegBufferLen {
			return syscall.EINVAL
		}
	}
	return c.setRegistered(&c.registered, true, func() error { return c.be.registerBuffers(bufs) })
}

// UnregisterBuffers undoes RegisterBuffers: ENXIO when nothing is
// registered, EINVAL on a destroyed context. Reads and writes in flight
// keep the memory they use until their events; later ones are issued
// without the registration.
func (c *Context) UnregisterBuffers() error {
	return c.setRegistered(&c.registered, false, c.be.unregisterBuffers)
}

// maxFiles is io_uring's limit on registered files
// (IORING_MAX_FIXED_FILES); kaio applies it to every engine.
const maxFiles = 1 << 20

// RegisterFiles registers fds with the context, as liburing's
// io_uring_register_files and fio's registerfiles do: an Iocb with
// FlagFixedFile then names one by its index in fds, in Iocb.Fd. An fd of
// -1 leaves its index empty.
//
// The context takes its own reference to each file (a duplicate fd, close
// on exec), so the caller may close fds once this returns; the references
// go with UnregisterFiles or Destroy (UpdateFiles replaces some), and a
// request in flight keeps its file until its event. What Submit must know
// of a file (its type, access mode, O_DIRECT and alignment) is looked up
// here, once, and not again: Submit on a registered file makes no syscall
// to check it, where on a plain fd it makes one or two per call. So a
// change made later with fcntl F_SETFL (O_DIRECT, O_APPEND, O_NONBLOCK)
// may go unseen by the requests on the file until the files are
// registered again: kaio checks them, picks their path and (retry) shares
// their file references as it found the file at registration.
//
// The uring engine hands the kernel the context's duplicates as plain fds;
// it does not register them in io_uring's own file table.
//
// Errors, on every engine: EINVAL for no fds or a destroyed context,
// EMFILE for more than 1<<20 of them or when no fd is left for a
// duplicate, EBADF for one that is not open (or negative but -1), EBUSY
// when files are registered already.
func (c *Context) RegisterFiles(fds ...int) error {
	switch {
	case len(fds) == 0:
		return syscall.EINVAL
	case len(fds) > maxFiles:
		return syscall.EMFILE
	}
	return c.setRegistered(&c.files, true, func() error { return c.be.registerFiles(fds) })
}

// UpdateFiles replaces the registered files from index off on with fds,
// as liburing's io_uring_register_files_update does: -1 empties a slot,
// and the other slots keep their files. Requests in flight keep theirs;
// a Submit that starts after UpdateFiles returns sees the new ones. It
// makes a new table and shares the kept slots' references with it, so its
// cost grows with the number of slots registered, not only with len(fds).
//
// Errors: ENXIO when no files are registered; EINVAL for no fds, a
// negative off, slots past the end of the registration, or a destroyed
// context; EBADF and EMFILE as for RegisterFiles. On an error the
// registration is as it was.
func (c *Context) UpdateFiles(off int, fds ...int) error {
	if len(fds) == 0 || off < 0 {
		return syscall.EINVAL
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	switch {
	case c.destroyed:
		return syscall.EINVAL
	case !c.files:
		return syscall.ENXIO
	}
	return c.be.updateFiles(off, fds)
}

// UnregisterFiles undoes RegisterFiles: ENXIO when no files are
// registered, EINVAL on a destroyed context. Requests in flight keep
// their files; later iocbs with FlagFixedFile are refused with EBADF.
func (c *Context) UnregisterFiles() error {
	return c.setRegistered(&c.files, false, func() error { c.be.unregisterFiles(); return nil })
}

// setRegistered runs do, under regMu, to make *state (buffers or files
// registered) become to: EINVAL on a destroyed context; EBUSY when
// registering what is registered, ENXIO when unregistering what is not.
func (c *Context) setRegistered(state *bool, to bool, do func() error) error {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	switch {
	case c.destroyed:
		return syscall.EINVAL
	case *state == to && to:
		return syscall.EBUSY
	case *state == to:
		return syscall.ENXIO
	}
	if err := do(); err != nil {
		return err
	}
	*state = to
	return nil
}
