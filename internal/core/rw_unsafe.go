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
	lo, hi := posLoHi(off)
	var n uintptr
	var e unix.Errno
	if raw {
		n, _, e = unix.RawSyscall6(trap, uintptr(fd), p, uintptr(len(iov)), lo, hi, uintptr(flags))
	} else {
		n, _, e = unix.Syscall6(trap, uintptr(fd), p, uintptr(len(iov)), lo, hi, uintptr(flags))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// posLoHi splits a file offset into preadv2's pos_l and pos_h, which the
// kernel joins as pos_h << BITS_PER_LONG/2 << BITS_PER_LONG/2 | pos_l: on
// 32-bit Linux the high half goes in pos_h, and on 64-bit pos_l carries it
// all and pos_h shifts out of the result (it is 0 here).
func posLoHi(off int64) (lo, hi uintptr) {
	const halfLong = unsafe.Sizeof(uintptr(0)) * 8 / 2
	return uintptr(off), uintptr(uint64(off) >> halfLong >> halfLong)
}
