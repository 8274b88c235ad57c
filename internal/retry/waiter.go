package retry

import (
	"math"
	"time"
)

// waiter is a reaper sleeping in GetEvents. Waiters are reused, with their
// channel and timer, so that a steady reaper allocates nothing.
type waiter struct {
	ch         chan struct{} // capacity 1: a wake-up is never lost or blocking
	timer      *time.Timer
	need       int // events wanted; guarded by k.Mu while on the list
	next, prev *waiter
}

func (c *Context) getWaiterLocked() *waiter {
	w := c.freeW
	if w == nil {
		w = &waiter{ch: make(chan struct{}, 1), timer: time.NewTimer(math.MaxInt64)}
		w.timer.Stop()
	} else {
		c.freeW = w.next
	}
	select { // a wake-up meant for an earlier use
	case <-w.ch:
	default:
	}
	return w
}

func (c *Context) putWaiterLocked(w *waiter) {
	w.next, w.prev = c.freeW, nil
	c.freeW = w
}

func (c *Context) addWaiterLocked(w *waiter) {
	w.prev = nil
	w.next = c.waiters
	if c.waiters != nil {
		c.waiters.prev = w
	}
	c.waiters = w
}

func (c *Context) removeWaiterLocked(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else if c.waiters == w {
		c.waiters = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
}

// wakeReapersLocked wakes the reapers whose wait is satisfied. The send is
// done under the lock, non-blocking into a channel of capacity one: after
// unlocking, the waiter could be reused by another GetEvents, so it must not
// be touched then.
func (c *Context) wakeReapersLocked() {
	for w := c.waiters; w != nil; w = w.next {
		if c.ring.Len() >= w.need {
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
	}
}

func (c *Context) wakeAllReapersLocked() {
	for w := c.waiters; w != nil; w = w.next {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}
