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
