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
