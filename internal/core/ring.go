//go:build linux

package core

import "golang.org/x/sys/unix"

// Ring is a context's user-space completion ring: the kernel's aio_ring of
// exactly nr events, which every engine keeps for itself (io_uring and Linux
// AIO round their own rings up, so capacity is counted here). A slot is
// reserved when a request is accepted and stays taken until its event is
// reaped, so a request that completes always finds room: Submit says EAGAIN
// instead, once nr requests are in flight or unreaped.
//
// Ring has no lock of its own, so that an engine takes one lock for its
// accounting and its ring together: hold the engine's context lock for
// every method. The zero value has no slots; call Init.
type Ring struct {
	events   []Event
	head     int // next event to reap
	count    int // events posted and not yet reaped
	reserved int // requests accepted + events unreaped: never above len(events)
	full     *Refusal
}

// Init gives the ring nr slots, all free.
func (r *Ring) Init(nr int) {
	*r = Ring{events: make([]Event, nr), full: Refuse(unix.EAGAIN, WhyRingFull, int64(nr), 0)}
}

// ErrFull is Submit's EAGAIN when Reserve fails, saying how many slots the
// ring has. It is made once, at Init: a caller that submits until the ring
// is full meets it often.
func (r *Ring) ErrFull() error { return r.full }

// Reserve takes a slot for a request about to be accepted, and reports
// false, taking nothing, when every slot is taken.
func (r *Ring) Reserve() bool {
	if r.reserved >= len(r.events) {
		return false
	}
	r.reserved++
	return true
}

// Release gives back a slot Reserve took for a request that was then not
// accepted after all (its iocb was already in flight).
func (r *Ring) Release() { r.reserved-- }

// Post appends ev, the event of a request that held a reserved slot.
func (r *Ring) Post(ev Event) {
	tail := r.head + r.count
	if tail >= len(r.events) {
		tail -= len(r.events)
	}
	r.events[tail] = ev
	r.count++
}

// Reserved is the number of slots taken: requests accepted and not yet
// completed, plus events posted and not yet reaped.
func (r *Ring) Reserved() int { return r.reserved }

// Len is the number of events posted and not yet reaped.
func (r *Ring) Len() int { return r.count }

// Reap moves up to len(events) events out of the ring, oldest first, and
// frees their slots.
func (r *Ring) Reap(events []Event) int {
	n := min(len(events), r.count)
	for j := 0; j < n; j++ {
		events[j] = r.events[r.head]
		r.events[r.head] = Event{} // the iocb and its buffers are the user's again
		r.head++
		if r.head == len(r.events) {
			r.head = 0
		}
	}
	r.count -= n
	r.reserved -= n
	return n
}
