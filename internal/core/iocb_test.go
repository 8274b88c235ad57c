//go:build linux

package core

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestErrEvent(t *testing.T) {
	i := &Iocb{Data: 7}
	if ev := ErrEvent(i, unix.EBADF); ev != (Event{Data: 7, Obj: i, Res: -int64(unix.EBADF)}) {
		t.Errorf("ErrEvent(iocb, EBADF) = %+v", ev)
	}
	if ev := ErrEvent(nil, unix.EINVAL); ev != (Event{Res: -int64(unix.EINVAL)}) {
		t.Errorf("ErrEvent(nil, EINVAL) = %+v", ev)
	}
}

func TestClaimedBy(t *testing.T) {
	type owner struct{ int }
	a, b := &owner{1}, &owner{2}
	i := &Iocb{}
	if i.ClaimedBy(a) != nil || (*Iocb)(nil).ClaimedBy(a) != nil {
		t.Fatal("an unclaimed or nil iocb has a claim")
	}
	cl := &Claim{Owner: a}
	if !i.Take(cl) {
		t.Fatal("Take of a free iocb failed")
	}
	if i.ClaimedBy(a) != cl || i.ClaimedBy(b) != nil {
		t.Fatalf("ClaimedBy: %p for its owner, %p for another; want %p, nil", i.ClaimedBy(a), i.ClaimedBy(b), cl)
	}
	i.Release(cl)
	if i.ClaimedBy(a) != nil {
		t.Fatal("claim outlived Release")
	}
}

// holder is an engine context's view of its claims for TestClaimStale: the
// iocb each claim's request holds, under a lock.
type holder struct {
	sync.Mutex
	held map[*Claim]*Iocb
}

func (h *holder) take(i *Iocb, c *Claim) bool {
	h.Lock()
	defer h.Unlock()
	if !i.Take(c) {
		return false
	}
	h.held[c] = i
	return true
}

func (h *holder) release(i *Iocb, c *Claim) {
	h.Lock()
	defer h.Unlock()
	i.Release(c)
	delete(h.held, c)
}

func (h *holder) DropStaleClaim(c *Claim, i *Iocb) {
	h.Lock()
	defer h.Unlock()
	if h.held[c] != i {
		i.Release(c)
	}
}

// TestClaimStale: a copy of an iocb taken while it is in flight is another
// iocb: Check lets it go once its owner says the claim is not its own, even
// when the claim is reused for yet another iocb or the copy is written back
// into the original; the original stays claimed while in flight.
func TestClaimStale(t *testing.T) {
	h := &holder{held: map[*Claim]*Iocb{}}
	ca, cb := &Claim{Owner: h}, &Claim{Owner: h}
	orig := &Iocb{Op: OpNoop}
	if !h.take(orig, ca) {
		t.Fatal("Take of a free iocb failed")
	}
	cp, early := *orig, *orig
	var fi FdInfo
	fi.Reset()
	if err := Check(&cp, &fi); err != nil || cp.Claimed() != nil {
		t.Fatalf("Check of a copy of an in-flight iocb: %v, claim %p", err, cp.Claimed())
	}
	if err := Check(orig, &fi); err != nil || orig.Claimed() != ca {
		t.Fatalf("Check dropped the claim of the iocb in flight: %v", err)
	}
	if !h.take(&cp, cb) {
		t.Fatal("the copy could not be taken beside the original")
	}
	h.release(orig, ca)
	h.release(&cp, cb)
	other := &Iocb{Op: OpNoop}
	if !h.take(other, ca) { // the claim is reused for another iocb
		t.Fatal("reuse of a claim failed")
	}
	*orig = early // an old copy written back into the original
	if err := Check(orig, &fi); err != nil || !h.take(orig, cb) {
		t.Fatalf("an iocb with a stale claim written back: %v, claim %p", err, orig.Claimed())
	}
}
