package kaio

import (
	"context"
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Op is an iocb opcode, numbered as Linux's IOCB_CMD_*.
type Op = core.Op

// The ops, numbered as IOCB_CMD_* in linux/aio_abi.h.
const (
	OpPRead   = core.OpPRead
	OpPWrite  = core.OpPWrite
	OpFSync   = core.OpFSync
	OpFDSync  = core.OpFDSync
	OpPoll    = core.OpPoll
	OpNoop    = core.OpNoop
	OpPReadv  = core.OpPReadv
	OpPWritev = core.OpPWritev
)

// FlagResFd (Iocb.Flags) asks for the eventfd in Iocb.ResFd to be signalled
// once per completion, as IOCB_FLAG_RESFD does.
const FlagResFd = core.FlagResFd

// Iocb is one I/O request; see core.Iocb for its fields. The context owns it
// and its buffers from Submit until its Event is reaped.
type Iocb = core.Iocb

// Event is one completion: Res is a byte count, poll revents, or a negative
// errno (Err converts it).
type Event = core.Event

// Stats are a context's counters since Setup.
type Stats = core.Stats

// Context is an AIO context: a bounded completion ring, the requests in
// flight, and the engine that runs them. All methods are safe for concurrent
// use.
type Context struct {
	be     core.Backend
	engine Engine
	nr     int

	// files runs the requests of the Files on this Context, made when
	// the first one opens.
	filesOnce sync.Once
	files     *fileRing

	regMu      sync.Mutex
	registered bool // RegisterBuffers succeeded and UnregisterBuffers has not run
	destroyed  bool
}

// Setup creates a context with room for nrEvents completions: it never holds
// more than nrEvents requests in flight or completed and not yet reaped.
// nrEvents <= 0 gives EINVAL.
func Setup(nrEvents int, opts ...Option) (*Context, error) {
	if nrEvents <= 0 || nrEvents > maxEvents {
		return nil, unix.EINVAL
	}
	cfg := config{engine: EngineAuto}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.workers < 0 {
		return nil, unix.EINVAL
	}
	eng := cfg.engine
	if eng == EngineAuto {
		eng = autoEngine()
	}
	be, err := newBackend(eng, nrEvents, &cfg)
	if err != nil {
		return nil, err
	}
	return &Context{be: be, engine: eng, nr: nrEvents}, nil
}

// fileRing returns the Files' ring of c, making it at first use.
func (c *Context) fileRing() *fileRing {
	c.filesOnce.Do(func() { c.files = newFileRing(c, c.nr) })
	return c.files
}

// maxEvents bounds nrEvents as the kernel bounds io_setup (its aio_max_nr
// default is 65536); larger rings are refused with EINVAL.
const maxEvents = 1 << 20

// Engine returns the engine the context actually runs on (never EngineAuto).
func (c *Context) Engine() Engine { return c.engine }

// Submit queues iocbs in order and stops at the first it refuses. It returns
// how many it accepted and, when that is fewer than len(iocbs), an error
// saying why the next was refused: EAGAIN (ring full), EBADF (fd not open,
// or not open for that direction), EINVAL (bad op, offset, flags, O_DIRECT
// alignment, an iocb already in flight, a destroyed context).
func (c *Context) Submit(iocbs ...*Iocb) (int, error) { return c.be.Submit(iocbs) }

// GetEvents copies up to len(events) completions into events, waiting until
// at least minNr are available or timeout passes: timeout < 0 waits forever,
// 0 never sleeps. It returns how many it copied, which on timeout may be
// fewer than minNr with a nil error. minNr outside [0, len(events)] is EINVAL.
func (c *Context) GetEvents(minNr int, events []Event, timeout time.Duration) (int, error) {
	return c.be.GetEvents(nil, minNr, events, timeout)
}

// GetEventsContext is GetEvents bounded by ctx instead of a timeout. When ctx
// ends first it returns what it has, and ctx.Err() if that is nothing.
func (c *Context) GetEventsContext(ctx context.Context, minNr int, events []Event) (int, error) {
	return c.be.GetEvents(ctx, minNr, events, -1)
}

// Cancel starts cancelling iocb. It returns nil when cancellation is done or
// under way; the iocb's event (-ECANCELED, or its real result if it finished
// first) still arrives through the ring. EINVAL: iocb is not in flight on
// this context. EAGAIN: it cannot be cancelled now (a blocking syscall is
// already under way).
func (c *Context) Cancel(iocb *Iocb) error { return c.be.Cancel(iocb) }

// Do runs iocb on the calling goroutine through the same machinery as Submit
// and returns its event. It uses no ring slot. Errors that Submit would
// return are returned as the event's Res (a negative errno).
func (c *Context) Do(iocb *Iocb) Event { return c.be.Do(iocb) }

// Stats returns the context's counters.
func (c *Context) Stats() Stats { return c.be.Stats() }

// Destroy cancels everything in flight, waits until every request has ended,
// and releases every goroutine, fd and mapping the context owns. Events not
// reaped are dropped. Later calls on the context return EINVAL.
func (c *Context) Destroy() error {
	err := c.be.Destroy()
	c.regMu.Lock()
	c.destroyed, c.registered = true, false
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
		return unix.EINVAL
	}
	for _, b := range bufs {
		if len(b) == 0 || len(b) > maxRegBufferLen {
			return unix.EINVAL
		}
	}
	c.regMu.Lock()
	defer c.regMu.Unlock()
	switch {
	case c.destroyed:
		return unix.EINVAL
	case c.registered:
		return unix.EBUSY
	}
	if r, ok := c.be.(core.BufferRegistrar); ok {
		if err := r.RegisterBuffers(bufs); err != nil {
			return err
		}
	}
	c.registered = true
	return nil
}

// UnregisterBuffers undoes RegisterBuffers: ENXIO when nothing is
// registered, EINVAL on a destroyed context. Reads and writes in flight
// keep the memory they use until their events; later ones are issued
// without the registration.
func (c *Context) UnregisterBuffers() error {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	switch {
	case c.destroyed:
		return unix.EINVAL
	case !c.registered:
		return unix.ENXIO
	}
	if r, ok := c.be.(core.BufferRegistrar); ok {
		if err := r.UnregisterBuffers(); err != nil {
			return err
		}
	}
	c.registered = false
	return nil
}
