//go:build linux

package fsx

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setDefaultAction sets sig's action to SIG_DFL with rt_sigaction, which
// os/signal cannot do for the signals the Go runtime always handles
// (SIGBUS, SIGSEGV, ...). An all-zero struct sigaction is SIG_DFL with no
// flags and an empty mask, whatever the architecture's field order.
func setDefaultAction(sig unix.Signal) error {
	var act [4]uint64 // handler, flags, restorer, mask: all zero
	const sigsetSize = 8
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, sigsetSize, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// sliceAddr is the address of b's first byte.
func sliceAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
