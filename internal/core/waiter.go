//go:build linux

package core

import (
	"math"
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/lock"
)

// Waiter is a goroutine asleep in an engine until completions bring what it
// waits for (GetEvents; in the kernel engines also Do, Cancel, Destroy and
// the eventfd reaper). Waiters are reused, with their note and timer, so
// that a steady reaper allocates nothing. T is what the engine records of
// what the waiter waits for.
//
// Waking is a lock.Note wake-up (a non-blocking send into a channel of
// capacity one), done under the engine's context lock: a wake-up is never
// lost and never blocks, and once the lock is dropped the waiter may be put
// back and reused by another goroutine, so it must not be touched then.
type Waiter[T any] struct {
	note  lock.Note
	timer *time.Timer // stopped unless its owner armed it
	// For is what the waiter waits for, which the engine's wake-up
	// decisions read; zero when Get returns the waiter. Guarded by the
	// engine's context lock.
	For        T
	next, prev *Waiter[T] // WaitList.asleep or WaitList.free; guarded by the context lock
}

// Woken is the channel a wake-up arrives on (outside the schedule explorer).
func (w *Waiter[T]) Woken() <-chan struct{} { return w.note.C() }

// Wake wakes w if it is not already woken. Hold the engine's context lock.
func (w *Waiter[T]) Wake() { w.note.Wakeup() }

// Arm starts w's timer for d and returns its channel; Disarm stops it.
func (w *Waiter[T]) Arm(d time.Duration) <-chan time.Time {
	w.timer.Reset(d)
	return w.timer.C
}

// Disarm stops the timer Arm started.
func (w *Waiter[T]) Disarm() { w.timer.Stop() }

// Next is the waiter after w on the sleeping list, or nil.
func (w *Waiter[T]) Next() *Waiter[T] { return w.next }

// WaitList is a context's sleeping waiters, a doubly linked list so that a
// waiter leaves it in constant time, and the free waiters kept for reuse.
// The zero value is empty and ready. It has no lock of its own: hold the
// engine's context lock for every method.
type WaitList[T any] struct {
	asleep *Waiter[T]
	free   *Waiter[T] // linked through next
	// Sched, when set before first use, hands every waiter's note to a
	// schedule explorer (internal/explore).
	Sched lock.Sched
}

// Get returns a free waiter, allocating one only when none is free, with
// no wake-up pending and a zero For.
func (l *WaitList[T]) Get() *Waiter[T] {
	w := l.free
	if w == nil {
		w = &Waiter[T]{timer: time.NewTimer(math.MaxInt64)}
		w.note.Init()
		if l.Sched != nil {
			w.note.SetSched(l.Sched)
		}
		w.timer.Stop()
	} else {
		l.free = w.next
	}
	w.note.Clear() // a wake-up meant for an earlier use
	return w
}

// Put frees w, which is not asleep, for a later Get. It clears For, so
// that a free waiter keeps no request reachable.
func (l *WaitList[T]) Put(w *Waiter[T]) {
	var zero T
	w.For = zero
	w.next, w.prev = l.free, nil
	l.free = w
}

// Add puts w on the sleeping list, where the engine's wake-ups find it.
func (l *WaitList[T]) Add(w *Waiter[T]) {
	w.prev = nil
	w.next = l.asleep
	if l.asleep != nil {
		l.asleep.prev = w
	}
	l.asleep = w
}

// Remove takes w, which Add put there, off the sleeping list.
func (l *WaitList[T]) Remove(w *Waiter[T]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else if l.asleep == w {
		l.asleep = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
}

// First is the first sleeping waiter, or nil; walk on with Next.
func (l *WaitList[T]) First() *Waiter[T] { return l.asleep }

// Sleep puts w on the sleeping list and sleeps, with mu (the engine's
// context lock, held on entry and on return) released, until w is woken,
// deadline passes (zero: never) or done is closed; it reports whether it
// stopped for the deadline or done. A deadline already past returns at
// once, without releasing mu. Whether w's wait is over is the caller's to
// check, under mu, before and after. With neither a deadline nor done it
// sleeps on the note alone, which the schedule explorer can run.
func (l *WaitList[T]) Sleep(mu sync.Locker, w *Waiter[T], deadline time.Time, done <-chan struct{}) (expired bool) {
	if deadline.IsZero() && done == nil {
		l.Add(w)
		mu.Unlock()
		w.note.Sleep()
		mu.Lock()
		l.Remove(w)
		return false
	}
	var tch <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return true
		}
		tch = w.Arm(d)
	}
	l.Add(w)
	mu.Unlock()
	select {
	case <-w.note.C():
	case <-tch:
		expired = true
	case <-done:
		expired = true
	}
	if tch != nil {
		w.Disarm()
	}
	mu.Lock()
	l.Remove(w)
	return expired
}

// WakeAll wakes every sleeping waiter.
func (l *WaitList[T]) WakeAll() {
	for w := l.asleep; w != nil; w = w.next {
		w.Wake()
	}
}
