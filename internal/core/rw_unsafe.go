//go:build linux

package core

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RWv is preadv2 (write false) or pwritev2 on an iovec array the caller
// keeps: x/sys's wrappers build, and allocate, a new one on every call.
// off -1 means the file position (pipes, sockets). raw makes it a
// RawSyscall, which skips the scheduler's entersyscall/exitsyscall: only for
// a call that cannot sleep (RWF_NOWAIT) and moves little, since it holds its
// P throughout.
//
// Where preadv2 and pwritev2 do not exist (ENOSYS: Linux before 4.6, or an
// emulator without them, such as Debian 12's qemu-user), it is preadv,
// pwritev, readv or writev, and any flag is EOPNOTSUPP: the answer of a
// file that refuses RWF_NOWAIT, on which the engines wait in a worker or
// on the poller instead.
func RWv(write bool, fd int, iov []unix.Iovec, off int64, flags int, raw bool) (int, unix.Errno) {
	if !noV2.Load() {
		trap := uintptr(unix.SYS_PREADV2)
		if write {
			trap = unix.SYS_PWRITEV2
		}
		n, e := rwSyscall(trap, fd, iov, off, flags, raw)
		if e != unix.ENOSYS {
			return n, e
		}
		noV2.Store(true)
	}
	if flags != 0 {
		return 0, unix.EOPNOTSUPP
	}
	var trap uintptr
	switch {
	case off == -1 && write:
		trap = unix.SYS_WRITEV
	case off == -1:
		trap = unix.SYS_READV
	case write:
		trap = unix.SYS_PWRITEV
	default:
		trap = unix.SYS_PREADV
	}
	return rwSyscall(trap, fd, iov, off, 0, false)
}

// noV2 is set once preadv2 or pwritev2 said ENOSYS.
var noV2 atomic.Bool

// rwSyscall makes one of the vectored read and write syscalls, whose
// arguments are all (fd, iov, iovcnt, pos_l, pos_h, flags) or a prefix of
// them.
func rwSyscall(trap uintptr, fd int, iov []unix.Iovec, off int64, flags int, raw bool) (int, unix.Errno) {
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
