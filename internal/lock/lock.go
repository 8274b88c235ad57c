// Package lock holds the two synchronisation primitives of the kick
// protocol: a mutex and a one-shot note. In production they are a
// sync.Mutex and a channel of capacity one. The schedule explorer
// (internal/explore) installs a Sched on them before any use, and then every
// Lock, Unlock, Sleep and Wakeup becomes a point where it chooses which
// goroutine runs next. The hook costs one nil check when unused.
package lock

import "sync"

// Sched is the schedule explorer's view of the primitives. Only the explorer
// implements it.
type Sched interface {
	Lock(m *Mutex)
	Unlock(m *Mutex)
	Sleep(n *Note)
	Wakeup(n *Note)
}

// Mutex is a sync.Mutex that a schedule explorer can take over.
type Mutex struct {
	mu    sync.Mutex
	sched Sched // nil outside the explorer; set before first use, never changed
	held  bool  // under the explorer only: whether the lock is held
}

// SetSched hands the mutex to a schedule explorer. Call it before first use.
func (m *Mutex) SetSched(s Sched) { m.sched = s }

// Lock acquires m.
func (m *Mutex) Lock() {
	if m.sched != nil {
		m.sched.Lock(m)
		return
	}
	m.mu.Lock()
}

// Unlock releases m.
func (m *Mutex) Unlock() {
	if m.sched != nil {
		m.sched.Unlock(m)
		return
	}
	m.mu.Unlock()
}

// Held reports, under an explorer, whether m is held. Sched implementations
// use it together with SetHeld to keep the lock's state.
func (m *Mutex) Held() bool { return m.held }

// SetHeld records, under an explorer, whether m is held.
func (m *Mutex) SetHeld(h bool) { m.held = h }

// Note is a one-shot wake-up, like the kernel's wake_up_process on a task
// that sleeps in a loop: Wakeup makes the next (or current) Sleep return.
// At most one wake-up is remembered.
type Note struct {
	ch    chan struct{}
	sched Sched
	set   bool // under an explorer only: a Wakeup not yet consumed
}

// Init prepares the note; call it once before use.
func (n *Note) Init() { n.ch = make(chan struct{}, 1) }

// SetSched hands the note to a schedule explorer.
func (n *Note) SetSched(s Sched) { n.sched = s }

// Sleep waits for a Wakeup (consuming it).
func (n *Note) Sleep() {
	if n.sched != nil {
		n.sched.Sleep(n)
		return
	}
	<-n.ch
}

// Wakeup ends the current or next Sleep.
func (n *Note) Wakeup() {
	if n.sched != nil {
		n.sched.Wakeup(n)
		return
	}
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

// C is the channel a Wakeup arrives on, for a select that also waits for a
// timer or a context (outside the explorer only: under it, use Sleep).
func (n *Note) C() <-chan struct{} { return n.ch }

// Clear forgets a Wakeup not yet consumed. Call it only where no Wakeup can
// be racing (the note's owner, under the lock its wakers take).
func (n *Note) Clear() {
	if n.sched != nil {
		n.set = false
		return
	}
	select {
	case <-n.ch:
	default:
	}
}

// Sched returns the explorer the note was handed to, or nil.
func (n *Note) Sched() Sched { return n.sched }

// Pending reports, under an explorer, whether a Wakeup is remembered.
func (n *Note) Pending() bool { return n.set }

// SetPending records, under an explorer, whether a Wakeup is remembered.
func (n *Note) SetPending(p bool) { n.set = p }
