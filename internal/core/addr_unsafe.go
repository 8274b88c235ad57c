//go:build linux

package core

import "unsafe"

// BufAddr is the address of the first byte of b (0 for a buffer with no
// backing array), for O_DIRECT alignment checks and for the kernel engines,
// which hand it to the kernel.
func BufAddr(b []byte) uintptr {
	if cap(b) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
