package core

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// KernelEngine is what KernelWaiters needs from a kernel engine (uring,
// native): both let one goroutine at a time sleep in the kernel for
// completions while the others sleep on their channel.
type KernelEngine[T any] interface {
	// ReadyLocked reports whether w's wait is over. Hold the engine's mu.
	ReadyLocked(w *Waiter[T]) bool
	// SleepInKernel sleeps in the kernel until a completion or the
	// deadline (zero: none) and reports the latter. Called without mu.
	SleepInKernel(w *Waiter[T], deadline time.Time) (timedOut bool)
	// WakeKernel ends a SleepInKernel early. It may run late (from
	// context.AfterFunc), after the engine is destroyed.
	WakeKernel()
	// AfterKernelLocked takes in what the kernel completed once the
	// kernel waiter is back: it drains, completes requests and wakes the
	// waiters that satisfied. Hold mu; it may drop and retake it.
	AfterKernelLocked()

	// For GetEvents, all with mu held: whether the engine is destroyed;
	// take in what the kernel completed, as far as the engine may while
	// another goroutine is KW (DrainLocked may drop and retake mu); move
	// up to len(events) events out of the user ring; and make w wait for
	// n more events.
	DeadLocked() bool
	DrainLocked()
	ReapLocked(events []Event) int
	SetNeed(w *Waiter[T], n int)
}

// KernelWaiters is the waiting state of a kernel engine, guarded by the
// engine's mu (the one passed to its methods).
//
// Invariant: at most one goroutine, KW, is inside the kernel waiting for
// completions. The others sleep in Waiters until its drains or its leaving
// wake them; when it leaves it wakes them all and one takes its place.
// (uring also lets only KW drain the CQ while it is set: a completion
// another goroutine drained just before KW entered io_uring_enter would
// leave KW asleep with its event already in the user ring. native's KW
// sleeps on an eventfd that every completion signals, so anyone may
// drain there.)
type KernelWaiters[T any] struct {
	Waiters WaitList[T] // sleeping on their channel, and free ones
	KW      *Waiter[T]  // the waiter inside the kernel, or nil
}

// WaitLocked sleeps until w is ready, deadline passes (zero: never) or ctx
// (may be nil) is done, and reports whether it stopped for the deadline or
// ctx. It is called and returns with mu held.
func (k *KernelWaiters[T]) WaitLocked(mu *sync.Mutex, e KernelEngine[T], w *Waiter[T], deadline time.Time, ctx context.Context) (expired bool) {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	for !e.ReadyLocked(w) {
		if k.KW == nil {
			k.KW = w
			mu.Unlock()
			var stop func() bool
			if done != nil {
				stop = context.AfterFunc(ctx, e.WakeKernel)
			}
			timedOut := e.SleepInKernel(w, deadline)
			if stop != nil {
				stop()
			}
			mu.Lock()
			k.KW = nil
			e.AfterKernelLocked()
			k.Waiters.WakeAll() // one of them becomes the kernel waiter
			if e.ReadyLocked(w) {
				return false
			}
			if timedOut || done != nil && ctx.Err() != nil {
				return true
			}
			continue
		}
		// Another goroutine is the kernel waiter: sleep until its
		// drains or its leaving wake us.
		if k.Waiters.Sleep(mu, w, deadline, done) && !e.ReadyLocked(w) {
			return true
		}
	}
	return false
}

// GetEvents is core.Backend's GetEvents for a kernel engine whose mu is mu.
func (k *KernelWaiters[T]) GetEvents(mu *sync.Mutex, e KernelEngine[T], ctx context.Context, minNr int, events []Event, timeout time.Duration) (int, error) {
	if err := CheckMinNr(minNr, events); err != nil {
		return 0, err
	}
	mu.Lock()
	if e.DeadLocked() {
		mu.Unlock()
		return 0, unix.EINVAL
	}
	e.DrainLocked()
	n := e.ReapLocked(events)
	if now, err := NoWait(ctx, n, minNr, timeout); now {
		mu.Unlock()
		return n, err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	w := k.Waiters.Get()
	for {
		e.SetNeed(w, minNr-n)
		expired := k.WaitLocked(mu, e, w, deadline, ctx)
		n += e.ReapLocked(events[n:])
		if n >= minNr || expired || e.DeadLocked() {
			break
		}
	}
	k.Waiters.Put(w)
	dead := e.DeadLocked()
	mu.Unlock()
	return WaitResult(n, dead, CtxErr(ctx))
}

// WakeReadyLocked wakes the sleeping waiters whose wait is over. The send
// is non-blocking into a channel of capacity one, under mu: once mu is
// dropped the waiter may be reused. KW, in the kernel, is the engine's to
// wake.
func (k *KernelWaiters[T]) WakeReadyLocked(e KernelEngine[T]) {
	for w := k.Waiters.First(); w != nil; w = w.Next() {
		if e.ReadyLocked(w) {
			w.Wake()
		}
	}
}

// WaitUntilLocked waits, with no deadline, until what f describes is so.
// Hold mu.
func (k *KernelWaiters[T]) WaitUntilLocked(mu *sync.Mutex, e KernelEngine[T], f T) {
	w := k.Waiters.Get()
	w.For = f
	k.WaitLocked(mu, e, w, time.Time{}, nil)
	k.Waiters.Put(w)
}
