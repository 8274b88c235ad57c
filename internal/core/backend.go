//go:build linux

package core

import (
	"context"
	"time"
)

// Backend is what an engine implements; kaio.Context forwards to it. Every
// method is safe for concurrent use, and every engine passes the same
// conformance suite (internal/conformance).
type Backend interface {
	// Submit accepts iocbs in order and stops at the first it refuses,
	// returning how many it took and, if fewer than all, why not.
	Submit(iocbs []*Iocb) (int, error)
	// GetEvents copies completions into events, waiting for at least minNr
	// until timeout passes (timeout < 0: forever) or ctx is done (ctx may
	// be nil).
	GetEvents(ctx context.Context, minNr int, events []Event, timeout time.Duration) (int, error)
	// Cancel starts cancelling an in-flight iocb.
	Cancel(iocb *Iocb) error
	// Do runs one iocb synchronously without using a ring slot.
	Do(iocb *Iocb) Event
	// Stats returns the counters.
	Stats() Stats
	// Destroy ends every request and releases every resource.
	Destroy() error
}

// BufferRegistrar is a Backend that can hand buffers to the kernel once for
// many I/Os (io_uring's registered buffers). kaio.Context checks the
// arguments and keeps the registered/unregistered state for every engine;
// a backend without this interface accepts the registration and does
// nothing with it.
type BufferRegistrar interface {
	RegisterBuffers(bufs [][]byte) error
	UnregisterBuffers() error
}
