//go:build linux

package kaio

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/native"
	"github.com/kaio-go/kaio/internal/retry"
	"github.com/kaio-go/kaio/internal/uring"
	"golang.org/x/sys/unix"
)

// engineContext is an engine's context behind a kaio.Context. kaio's Iocb
// and Event have the layout of the engines' (internal/core's), so the
// calls below hand the caller's memory over as it is (convert_unsafe.go):
// nothing is copied per I/O, and an Event's Obj is the caller's *Iocb.
type engineContext struct {
	be    core.Backend
	files *fileTable // nil in a zero Context
}

// fileTable holds a context's registered files (RegisterFiles), or nil.
// Submit and Do each take a reference to the table they use, so that
// UnregisterFiles never closes an fd under them (core.Files).
type fileTable struct{ cur atomic.Pointer[core.Files] }

// acquire returns the registered files with a reference taken, or nil.
func (e engineContext) acquire() *core.Files {
	if e.files == nil {
		return nil
	}
	if f := e.files.cur.Load(); f != nil && f.Acquire() {
		return f
	}
	return nil
}

func (e engineContext) submit(iocbs []*Iocb) (int, error) {
	if f := e.acquire(); f != nil {
		n, err := e.submitHint(iocbs, f.Seed())
		f.Release()
		return n, err
	}
	return e.submitHint(iocbs, nil)
}

// submitHint is submit with what the caller knows of an fd it keeps open
// throughout the call (core.FdInfo.Hint): a File's ring passes its File's.
func (e engineContext) submitHint(iocbs []*Iocb, hint *core.FdInfo) (int, error) {
	var n int
	var err error
	// Called through their concrete types, the engines' Submit methods
	// let escape analysis see that they keep the iocbs but not the slice:
	// Submit(io) then builds its one-element slice on the caller's stack,
	// where an interface call would allocate it on every call.
	switch be := e.be.(type) {
	case *retry.Context:
		n, err = be.SubmitHint(coreIocbs(iocbs), hint)
	case *uring.Context:
		n, err = be.SubmitHint(coreIocbs(iocbs), hint)
	case *native.Context:
		n, err = be.SubmitHint(coreIocbs(iocbs), hint)
	default: // an engine not listed above: through the interface, on a copy
		n, err = be.Submit(append([]*core.Iocb(nil), coreIocbs(iocbs)...))
	}
	if err != nil && n < len(iocbs) {
		return n, &SubmitError{Index: n, Iocb: iocbs[n], Err: core.Errno(err), cause: err}
	}
	return n, err
}

func (e engineContext) getEvents(ctx context.Context, minNr int, events []Event, timeout time.Duration) (int, error) {
	return e.be.GetEvents(ctx, minNr, coreEvents(events), timeout)
}

func (e engineContext) cancel(i *Iocb) error { return e.be.Cancel(coreIocb(i)) }

// hintDoer is an engine whose Do takes a hint (core.FdInfo.Use).
type hintDoer interface {
	DoHint(i *core.Iocb, hint *core.FdInfo) core.Event
}

func (e engineContext) do(i *Iocb) Event {
	if f := e.acquire(); f != nil {
		defer f.Release()
		if d, ok := e.be.(hintDoer); ok {
			return fromCoreEvent(d.DoHint(coreIocb(i), f.Seed()))
		}
	}
	return fromCoreEvent(e.be.Do(coreIocb(i)))
}

func (e engineContext) stats() Stats { return Stats(e.be.Stats()) }

func (e engineContext) destroy() error { return e.be.Destroy() }

// registerBuffers hands bufs to an engine that registers buffers; the
// others accept them and do nothing with them.
func (e engineContext) registerBuffers(bufs [][]byte) error {
	if r, ok := e.be.(core.BufferRegistrar); ok {
		return r.RegisterBuffers(bufs)
	}
	return nil
}

func (e engineContext) unregisterBuffers() error {
	if r, ok := e.be.(core.BufferRegistrar); ok {
		return r.UnregisterBuffers()
	}
	return nil
}

// registerFiles duplicates fds into a new table of registered files, which
// the context uses from then on. kaio.Context has checked the arguments
// and that none are registered.
func (e engineContext) registerFiles(fds []int) error {
	if e.files == nil {
		return unix.EINVAL
	}
	f, err := core.OpenFiles(fds)
	if err != nil {
		return err
	}
	e.files.cur.Store(f)
	return nil
}

// updateFiles puts a new table in place of the registered one: its slots
// from off on hold duplicates of fds. kaio.Context has checked that files
// are registered, under the lock that keeps the table from changing
// meanwhile.
func (e engineContext) updateFiles(off int, fds []int) error {
	cur := e.files.cur.Load()
	next, err := cur.Update(off, fds)
	if err != nil {
		return err
	}
	e.files.cur.Store(next)
	cur.Release()
	return nil
}

// unregisterFiles drops the context's registered files: their duplicates
// are closed when no Submit or Do uses them any more.
func (e engineContext) unregisterFiles() {
	if e.files == nil {
		return
	}
	if f := e.files.cur.Swap(nil); f != nil {
		f.Release()
	}
}

// submitReason is what an engine's refusal says (core.Refusal), made when
// SubmitError.Error asks.
func submitReason(cause error) string { return core.Reason(cause) }

// errnoName is e's name ("EINVAL").
func errnoName(e syscall.Errno) string { return unix.ErrnoName(e) }
