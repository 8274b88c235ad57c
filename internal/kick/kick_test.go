package kick

import (
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/invariants"
	"github.com/kaio-go/kaio/internal/waitq"
)

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		s, _ := r.(string)
		if !strings.HasPrefix(s, "kaio: inconsistent") || !strings.Contains(s, want) {
			t.Fatalf("panic %v, want kaio: inconsistent ... %s", r, want)
		}
	}()
	f()
}

// The invariant checks fire on the states the RFC's races reach.
func TestInvariantsCatchRaces(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("invariant checks are compiled in only with -tags invariants or -race")
	}
	var c Ctx
	var r Req
	c.ResetLocked(&r)
	c.DoneLocked(&r)
	mustPanic(t, "kick of a completed request", func() { c.kickLocked(&r) }) // (1a)
	mustPanic(t, "completed twice", func() { c.DoneLocked(&r) })

	var r2 Req
	c.ResetLocked(&r2)
	r2.running = false
	c.pushLocked(&r2)
	mustPanic(t, "queued twice", func() { c.pushLocked(&r2) }) // (2)

	var q waitq.Queue
	var r3 Req
	r3.Wait.W = nopWaker{}
	c.ResetLocked(&r3)
	if !c.LinkWait(&r3, &q, 0) {
		t.Fatal("LinkWait refused a running request")
	}
	r3.running = false
	mustPanic(t, "wait linked", func() { c.pushLocked(&r3) }) // (1b)
}

type nopWaker struct{}

func (nopWaker) Wake(*waitq.Queue, *waitq.Entry, uint32) {}

// The protocol, step by step on one request: wait, wake, run again.
func TestKickRequeues(t *testing.T) {
	var c Ctx
	var q waitq.Queue
	var r Req
	r.Wait.W = nopWaker{}
	c.ResetLocked(&r)
	if !c.LinkWait(&r, &q, 1) {
		t.Fatal("LinkWait")
	}
	if a := c.EndWait(&r); a != None {
		t.Fatalf("EndWait with a wait linked: %v", a)
	}
	q.Mu.Lock()
	a := c.Wake(&q, &r)
	q.Mu.Unlock()
	if a != Queued || c.Pop() != &r {
		t.Fatalf("wake did not queue the request: %v", a)
	}
	if c.Begin(&r) {
		t.Fatal("not cancelled")
	}
	// Progress without a wait: the runner kicks itself.
	if a := c.EndWait(&r); a != Queued || c.Pop() != &r {
		t.Fatalf("self-kick: %v", a)
	}
}
