package retry

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The request keeps its iovecs in an array it owns, so the syscalls below
// take them as they are; x/sys's Preadv2 would build (and allocate) a new
// array on every call.

func preadv2(fd int, iov []unix.Iovec, off int64, flags int, left int64) (int, unix.Errno) {
	return rwv(unix.SYS_PREADV2, fd, iov, off, flags, left)
}

func pwritev2(fd int, iov []unix.Iovec, off int64, flags int, left int64) (int, unix.Errno) {
	return rwv(unix.SYS_PWRITEV2, fd, iov, off, flags, left)
}

// rawMax is the largest inline RWF_NOWAIT transfer made with RawSyscall:
// such a call never sleeps (the kernel returns EAGAIN instead) and copies at
// most this much, so it holds its P for a few microseconds at most, and it
// saves the scheduler's entersyscall/exitsyscall on the hot path.
const rawMax = 64 << 10

func rwv(trap uintptr, fd int, iov []unix.Iovec, off int64, flags int, left int64) (int, unix.Errno) {
	var p unsafe.Pointer
	if len(iov) > 0 {
		p = unsafe.Pointer(&iov[0])
	}
	// On 64-bit Linux pos_l carries the whole offset and pos_h is ignored;
	// -1 means "the file position", which is what pipes and sockets need.
	var n uintptr
	var e unix.Errno
	if flags&unix.RWF_NOWAIT != 0 && left <= rawMax {
		n, _, e = unix.RawSyscall6(trap, uintptr(fd), uintptr(p), uintptr(len(iov)), uintptr(off), 0, uintptr(flags))
	} else {
		n, _, e = unix.Syscall6(trap, uintptr(fd), uintptr(p), uintptr(len(iov)), uintptr(off), 0, uintptr(flags))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func addPtr(p *byte, n int64) *byte { return (*byte)(unsafe.Add(unsafe.Pointer(p), n)) }
