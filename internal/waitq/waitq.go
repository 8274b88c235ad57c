// Package waitq implements wait queues in the manner of the kernel's
// wait_queue_head_t and gVisor's pkg/waiter: intrusive entries (linking one
// allocates nothing), a wake callback run with the queue's lock held that
// does minimal work and never re-enters the queue, and a zero value that is
// ready to use.
//
// Lock order (see also internal/kick): Queue.Mu → kick.Ctx.Mu. A wake
// callback runs with Queue.Mu held and may take the context lock.
package waitq

import "github.com/kaio-go/kaio/internal/lock"

// Waker is the callback of an entry. Wake runs with the entry's queue lock
// held, after nothing has been changed: it is the callback's job to unlink
// the entry (RemoveLocked) if it consumes the wake-up.
type Waker interface {
	Wake(q *Queue, e *Entry, mask uint32)
}

// Queue is a wait queue. The zero value is an empty queue.
type Queue struct {
	// Mu guards the list of entries and each entry's links.
	Mu lock.Mutex
	// guarded by Mu:
	head, tail *Entry
	n          int
}

// Entry is one waiter on a queue.
type Entry struct {
	// Mask is the set of events the waiter wants (0 means any).
	Mask uint32
	// W is called on a matching wake-up.
	W Waker

	// q is the queue the entry is linked on, or nil. It is written only by
	// AddLocked and RemoveLocked, that is with q.Mu held; the kick protocol
	// also requires its owner's context lock to be held for both (so that
	// either lock suffices to read it).
	q          *Queue
	next, prev *Entry // guarded by q.Mu
}

// Queue returns the queue e is linked on, or nil. Hold e's queue lock or its
// owner's context lock.
func (e *Entry) Queue() *Queue { return e.q }

// AddLocked links e at the tail of q. q.Mu must be held, e must be unlinked.
func (q *Queue) AddLocked(e *Entry) {
	if e.q != nil {
		panic("kaio: inconsistent wait entry linked twice")
	}
	e.q = q
	e.prev = q.tail
	e.next = nil
	if q.tail != nil {
		q.tail.next = e
	} else {
		q.head = e
	}
	q.tail = e
	q.n++
}

// RemoveLocked unlinks e from q (list_del_init). q.Mu must be held and e
// linked on q.
func (q *Queue) RemoveLocked(e *Entry) {
	if e.q != q {
		panic("kaio: inconsistent wait entry unlinked from a queue it is not on")
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		q.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		q.tail = e.prev
	}
	e.next, e.prev, e.q = nil, nil, nil
	q.n--
}

// FirstLocked returns the entry at the head of q, or nil. q.Mu must be held.
func (q *Queue) FirstLocked() *Entry { return q.head }

// NextLocked returns the entry after e on its queue, or nil. Hold the
// queue's Mu.
func (e *Entry) NextLocked() *Entry { return e.next }

// LenLocked returns how many entries are linked. q.Mu must be held.
func (q *Queue) LenLocked() int { return q.n }

// MaskLocked returns the union of the masks of the linked entries.
func (q *Queue) MaskLocked() uint32 {
	var m uint32
	for e := q.head; e != nil; e = e.next {
		m |= e.Mask
	}
	return m
}

// Wake calls the callback of every entry whose mask meets mask (every entry
// if mask or its Mask is 0, or if mask has any of the bits in always: an
// error or hang-up concerns every waiter), with q.Mu held. Callbacks may
// unlink their own entry and nothing else.
func (q *Queue) Wake(mask, always uint32) {
	q.Mu.Lock()
	q.WakeLocked(mask, always)
	q.Mu.Unlock()
}

// WakeLocked is Wake with q.Mu already held.
func (q *Queue) WakeLocked(mask, always uint32) {
	for e := q.head; e != nil; {
		next := e.next
		if mask == 0 || e.Mask == 0 || e.Mask&mask != 0 || mask&always != 0 {
			e.W.Wake(q, e, mask)
		}
		e = next
	}
}
