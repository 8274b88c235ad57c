//go:build linux

package core

import "testing"

// TestRing: slots are taken by Reserve and freed by Reap (or Release), never
// more than nr; events come out in the order posted across the wrap.
func TestRing(t *testing.T) {
	var r Ring
	r.Init(3)
	next, want := uint64(0), uint64(0)
	evs := make([]Event, 3)
	for round := 0; round < 5; round++ {
		for r.Reserve() {
			r.Post(Event{Data: next})
			next++
		}
		if r.Len() != 3 {
			t.Fatalf("round %d: %d events posted with the ring full", round, r.Len())
		}
		// Reap a varying number, so that head wraps at each place.
		n := r.Reap(evs[:1+round%3])
		if n != 1+round%3 {
			t.Fatalf("round %d: Reap = %d", round, n)
		}
		for _, ev := range evs[:n] {
			if ev.Data != want {
				t.Fatalf("round %d: event %d, want %d", round, ev.Data, want)
			}
			want++
		}
	}
	rest := make([]Event, 10)
	n := r.Reap(rest)
	if n != int(next-want) || r.Len() != 0 {
		t.Fatalf("final Reap = %d of %d, %d left", n, next-want, r.Len())
	}
	for _, ev := range rest[:n] {
		if ev.Data != want {
			t.Fatalf("final Reap: event %d, want %d", ev.Data, want)
		}
		want++
	}
	for i := 0; i < 3; i++ {
		if !r.Reserve() {
			t.Fatalf("an empty ring of 3 refused slot %d", i)
		}
	}
	if r.Reserve() {
		t.Fatal("a full ring of 3 gave a fourth slot")
	}
	r.Release()
	if !r.Reserve() {
		t.Fatal("Release did not free a slot")
	}
}
