//go:build linux

package fsx

import "unsafe"

// alignUp returns the part of b that starts at the first address aligned to
// align (C fsx's round_ptr_up): O_DIRECT needs buffers aligned like offsets.
func alignUp(b []byte, align int) []byte {
	if align <= 1 || len(b) == 0 {
		return b
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	off := int((uintptr(align) - addr%uintptr(align)) % uintptr(align))
	return b[off:]
}
