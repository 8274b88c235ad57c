//go:build linux

package core

import (
	"sync"
	"testing"
	"time"
)

// TestWaitList: waiters leave the sleeping list from any place, wake-ups
// reach only the sleeping ones, and a reused waiter has no stale wake-up
// and a zero For.
func TestWaitList(t *testing.T) {
	var l WaitList[int]
	a, b, c := l.Get(), l.Get(), l.Get()
	a.For, b.For, c.For = 1, 2, 3
	l.Add(a)
	l.Add(b)
	l.Add(c)
	l.Remove(b) // from the middle
	var seen []int
	for w := l.First(); w != nil; w = w.Next() {
		seen = append(seen, w.For)
	}
	if len(seen) != 2 || seen[0] != 3 || seen[1] != 1 {
		t.Fatalf("asleep after removing 2: %v, want [3 1]", seen)
	}
	l.WakeAll()
	l.WakeAll() // a second wake-up neither blocks nor queues
	for _, w := range []*Waiter[int]{a, c} {
		select {
		case <-w.Woken():
		default:
			t.Fatalf("waiter %d not woken", w.For)
		}
	}
	select {
	case <-b.Woken():
		t.Fatal("a waiter off the list was woken")
	default:
	}
	l.Remove(c) // the head
	l.Remove(a) // the last
	if l.First() != nil {
		t.Fatal("list not empty")
	}
	a.Wake() // left pending: Get must drop it
	l.Put(a)
	if w := l.Get(); w != a || w.For != 0 {
		t.Fatalf("Get after Put: %p (For %d), want %p reused with For 0", w, w.For, a)
	} else {
		select {
		case <-w.Woken():
			t.Fatal("a reused waiter kept a stale wake-up")
		default:
		}
	}
}

// TestWaiterTimer: Arm fires after its duration; Disarm stops it.
func TestWaiterTimer(t *testing.T) {
	var l WaitList[struct{}]
	w := l.Get()
	select {
	case <-w.Arm(time.Millisecond):
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}
	tch := w.Arm(time.Hour)
	w.Disarm()
	select {
	case <-tch:
		t.Fatal("a disarmed timer fired")
	default:
	}
}

// TestWaitListAllocs: a steady waiter cycle (GetEvents that sleeps) and a
// wake-up allocate nothing.
func TestWaitListAllocs(t *testing.T) {
	var l WaitList[int]
	l.Put(l.Get())
	allocs := testing.AllocsPerRun(100, func() {
		w := l.Get()
		w.For = 1
		l.Add(w)
		l.WakeAll()
		<-w.Woken()
		l.Remove(w)
		l.Put(w)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per cycle, want 0", allocs)
	}
}

// TestWaitListSleep: Sleep returns false when woken, true for the deadline
// or done, at once for a deadline already past, and always with mu held and
// w off the list.
func TestWaitListSleep(t *testing.T) {
	var mu sync.Mutex
	var l WaitList[int]
	w := l.Get()
	mu.Lock()
	defer mu.Unlock()
	go func() {
		mu.Lock() // Sleep released it
		l.First().Wake()
		mu.Unlock()
	}()
	if l.Sleep(&mu, w, time.Time{}, nil) {
		t.Fatal("woken Sleep reported expiry")
	}
	if !l.Sleep(&mu, w, time.Now().Add(time.Millisecond), nil) {
		t.Fatal("Sleep past its deadline reported a wake-up")
	}
	done := make(chan struct{})
	close(done)
	if !l.Sleep(&mu, w, time.Time{}, done) {
		t.Fatal("Sleep with done closed reported a wake-up")
	}
	if !l.Sleep(&mu, w, time.Now().Add(-time.Second), nil) {
		t.Fatal("Sleep with a past deadline reported a wake-up")
	}
	if l.First() != nil || mu.TryLock() {
		t.Fatal("Sleep returned with w on the list or mu released")
	}
}
