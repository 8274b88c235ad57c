package core

import (
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

// TestClaimDoesNotTravelWithACopy: a copy of an iocb taken while it is in
// flight is another iocb: free to take, not cancellable through the
// original's claim, and still free once the original completes.
func TestClaimDoesNotTravelWithACopy(t *testing.T) {
	type owner struct{ int }
	a := &owner{1}
	orig := &Iocb{Data: 1}
	ca := &Claim{Owner: a}
	if !orig.Take(ca) {
		t.Fatal("Take of a free iocb failed")
	}
	cp, early := *orig, *orig
	if cp.Claimed() != nil || cp.ClaimedBy(a) != nil {
		t.Fatal("a copy of an in-flight iocb looks claimed")
	}
	if orig.Take(&Claim{Owner: a}) {
		t.Fatal("an in-flight iocb was taken twice")
	}
	cb := &Claim{Owner: a}
	if !cp.Take(cb) || cp.ClaimedBy(a) != cb || orig.ClaimedBy(a) != ca {
		t.Fatal("the copy could not be taken beside the original")
	}
	orig.Release(ca)
	cp.Release(cb)
	// The claim is reused for another iocb: a copy made earlier stays free.
	other := &Iocb{}
	if !other.Take(ca) || early.Claimed() != nil || !early.Take(&Claim{Owner: a}) {
		t.Fatal("a stale claim pointer in a copy made it look in flight")
	}
	// The copy is taken with the very claim its stale pointer names.
	again := Iocb{}
	again.claim = cb
	if !again.Take(cb) || again.Claimed() != cb {
		t.Fatal("a copy could not be taken by the claim it points to")
	}
}
