package kaio

import (
	"context"
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
	return &Context{be: be, engine: eng}, nil
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
func (c *Context) Destroy() error { return c.be.Destroy() }
