//go:build linux

package stress

import "unsafe"

// addrOf is the address of b's first byte, to align io buffers as the
// classic aligns its malloc'd region (O_DIRECT wants aligned memory).
func addrOf(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
