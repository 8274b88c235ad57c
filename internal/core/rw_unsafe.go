//go:build linux

package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RWv is preadv2 (write false) or pwritev2 on an iovec array the caller
// keeps: x/sys's wrappers build, and allocate, a new one on every call.
// off -1 means the file position (pipes, sockets). raw makes it a
// RawSyscall, which skips the scheduler's entersyscall/exitsyscall: only for
// a call that cannot sleep (RWF_NOWAIT) and moves little, since it holds its
// P throughout.
func RWv(write bool, fd int, iov []unix.Iovec, off int64, flags int, raw bool) (int, unix.Errno) {
	trap := uintptr(unix.SYS_PREADV2)
	if write {
		trap = unix.SYS_PWRITEV2
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(iov)))
	// On 64-bit Linux pos_l carries the whole offset and pos_h is ignored.
	var n uintptr
	var e unix.Errno
	if raw {
		n, _, e = unix.RawSyscall6(trap, uintptr(fd), p, uintptr(len(iov)), uintptr(off), 0, uintptr(flags))
	} else {
		n, _, e = unix.Syscall6(trap, uintptr(fd), p, uintptr(len(iov)), uintptr(off), 0, uintptr(flags))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}
