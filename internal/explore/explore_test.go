package explore_test

import (
	"testing"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/lock"
)

// counter is two threads each adding 1 to a shared counter, n times, as a
// read and a write separated by a yield point (a racy increment) or under a
// lock.
func counter(n int, locked bool) func(*explore.Run) {
	return func(x *explore.Run) {
		var mu lock.Mutex
		mu.SetSched(x)
		x.Name(&mu, "mu")
		v := 0
		for t := 0; t < 2; t++ {
			x.Go("t", "g", false, func() {
				for i := 0; i < n; i++ {
					if locked {
						mu.Lock()
					}
					x.Yield("read")
					old := v
					x.Yield("write")
					v = old + 1
					if locked {
						mu.Unlock()
					}
				}
			})
		}
		x.Final(func() error {
			if v != 2*n {
				return &explore.Failure{Kind: "lost-update", Msg: "counter lost an update"}
			}
			return nil
		})
	}
}

func binom(n, k int) int {
	r := 1
	for i := 1; i <= k; i++ {
		r = r * (n - k + i) / i
	}
	return r
}

func TestRacyCounterFails(t *testing.T) {
	res := explore.Explore(counter(2, false), explore.Options{Preemptions: -1})
	if !res.Exhaustive {
		t.Fatal("not exhaustive")
	}
	// Two threads of 4 yield points each: every interleaving is a schedule.
	if want := binom(8, 4); res.Schedules != want {
		t.Errorf("schedules = %d, want %d", res.Schedules, want)
	}
	f := res.Shortest["lost-update"]
	if f == nil {
		t.Fatalf("lost update not found: %+v", res)
	}
	if len(f.Trace) != f.Steps || f.Steps == 0 {
		t.Errorf("trace of %d steps, Steps %d", len(f.Trace), f.Steps)
	}
}

func TestLockedCounterPasses(t *testing.T) {
	res := explore.Explore(counter(2, true), explore.Options{Preemptions: -1})
	if res.Failed != 0 || !res.Exhaustive {
		t.Fatalf("failed %d, exhaustive %v: %v", res.Failed, res.Exhaustive, res.Shortest)
	}
	if res.Schedules < 2 {
		t.Errorf("only %d schedules", res.Schedules)
	}
}

func TestPreemptionBound(t *testing.T) {
	// With no preemption each thread runs to its end: 2 schedules.
	res := explore.Explore(counter(2, false), explore.Options{Preemptions: 0})
	if res.Schedules != 2 || res.Failed != 0 {
		t.Errorf("schedules %d failed %d, want 2 and 0", res.Schedules, res.Failed)
	}
	// One preemption is enough to lose an update.
	res = explore.Explore(counter(2, false), explore.Options{Preemptions: 1})
	if res.Shortest["lost-update"] == nil {
		t.Error("one preemption does not find the lost update")
	}
}

func TestDeadlock(t *testing.T) {
	setup := func(x *explore.Run) {
		var a, b lock.Mutex
		a.SetSched(x)
		b.SetSched(x)
		// The order of acquisition is the test: nothing is guarded.
		//lint:ignore SA2001 the lock order is what deadlocks
		x.Go("ab", "g", false, func() { a.Lock(); b.Lock(); b.Unlock(); a.Unlock() })
		//lint:ignore SA2001 the lock order is what deadlocks
		x.Go("ba", "g", false, func() { b.Lock(); a.Lock(); a.Unlock(); b.Unlock() })
	}
	res := explore.Explore(setup, explore.Options{Preemptions: -1})
	if res.Shortest["deadlock"] == nil {
		t.Fatalf("AB-BA deadlock not found: %+v", res)
	}
}

func TestNoteAndDaemon(t *testing.T) {
	// A daemon that sleeps forever after its work is not a deadlock; a
	// sleeper that is never woken is.
	for _, wake := range []bool{true, false} {
		setup := func(x *explore.Run) {
			var n, idle lock.Note
			n.SetSched(x)
			idle.SetSched(x)
			x.Go("daemon", "g", true, func() { idle.Sleep() })
			x.Go("sleeper", "g", false, func() { n.Sleep() })
			x.Go("waker", "g", false, func() {
				if wake {
					n.Wakeup()
				}
			})
		}
		res := explore.Explore(setup, explore.Options{Preemptions: -1})
		if got := res.Shortest["deadlock"] != nil; got == wake {
			t.Errorf("wake %v: deadlock found %v", wake, got)
		}
	}
}

func TestPanicAndFail(t *testing.T) {
	res := explore.Explore(func(x *explore.Run) {
		x.Go("p", "g", false, func() { x.Yield("y"); panic("kaio: inconsistent test") })
		x.Go("f", "g", false, func() { x.Yield("y"); x.Fail("mine", "failed") })
	}, explore.Options{Preemptions: -1})
	if res.Shortest["panic"] == nil || res.Shortest["mine"] == nil {
		t.Fatalf("got %v", res.Kinds())
	}
}

func TestMaxSchedules(t *testing.T) {
	res := explore.Explore(counter(3, false), explore.Options{Preemptions: -1, MaxSchedules: 5})
	if res.Schedules != 5 || res.Exhaustive {
		t.Errorf("schedules %d exhaustive %v", res.Schedules, res.Exhaustive)
	}
}

// TestBackoff: a thread that asks in a loop, pausing with Yield, can starve
// the thread it waits for (a livelock the explorer reports); pausing with
// Backoff lets the other run first, so every schedule ends, even with no
// preemption bound, while schedules where the asker asks before the worker
// is done remain.
func TestBackoff(t *testing.T) {
	for _, backoff := range []bool{false, true} {
		early := 0 // schedules where an ask found the work not done
		setup := func(x *explore.Run) {
			done := false
			x.Go("worker", "g", false, func() {
				x.Yield("work")
				done = true
			})
			x.Go("asker", "g", false, func() {
				for !done {
					x.Yield("ask")
					if !done {
						early++
					}
					if backoff {
						x.Backoff("pause")
					} else {
						x.Yield("pause")
					}
				}
			})
		}
		res := explore.Explore(setup, explore.Options{Preemptions: -1, MaxSteps: 200})
		if livelock := res.Shortest["livelock"] != nil; livelock == backoff {
			t.Errorf("backoff %v: livelock found %v, want %v", backoff, livelock, !backoff)
		}
		if backoff && (!res.Exhaustive || res.Failed != 0 || early == 0) {
			t.Errorf("backoff: exhaustive %v, failed %d, early asks %d", res.Exhaustive, res.Failed, early)
		}
	}
}
