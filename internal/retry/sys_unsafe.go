//go:build linux

package retry

import (
	"unsafe"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// rawMax is the largest inline RWF_NOWAIT transfer made with RawSyscall:
// such a call never sleeps (the kernel returns EAGAIN instead) and copies at
// most this much, so it holds its P for a few microseconds at most, and it
// saves the scheduler's entersyscall/exitsyscall on the hot path.
const rawMax = 64 << 10

func preadv2(fd int, iov []unix.Iovec, off int64, flags int, left int64) (int, unix.Errno) {
	return core.RWv(false, fd, iov, off, flags, flags&unix.RWF_NOWAIT != 0 && left <= rawMax)
}

func pwritev2(fd int, iov []unix.Iovec, off int64, flags int, left int64) (int, unix.Errno) {
	return core.RWv(true, fd, iov, off, flags, flags&unix.RWF_NOWAIT != 0 && left <= rawMax)
}

func addPtr(p *byte, n int64) *byte { return (*byte)(unsafe.Add(unsafe.Pointer(p), n)) }
