//go:build linux

package core

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// emptyPath is the "" of statx(fd, "", AT_EMPTY_PATH): x/sys's Statx
// copies its path argument into a new NUL-terminated slice on every call,
// an allocation per O_DIRECT fd per Submit; this one is made once.
var emptyPath = [1]byte{}

// statxFd is statx(fd, "", AT_EMPTY_PATH, mask, sx): what fstat says and
// more, about fd itself.
func statxFd(fd int, mask int, sx *unix.Statx_t) error {
	_, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(fd), uintptr(unsafe.Pointer(&emptyPath[0])),
		unix.AT_EMPTY_PATH, uintptr(mask), uintptr(unsafe.Pointer(sx)), 0)
	if e != 0 {
		return e
	}
	return nil
}
