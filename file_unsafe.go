package kaio

import "unsafe"

// directAlign is the alignment AlignedBuffer gives: the page size, which is
// at least the logical block size of every device and file system Linux
// runs O_DIRECT on here (statx's STATX_DIOALIGN answers 512 or 4096).
const directAlign = 4096

// AlignedBuffer returns size bytes of memory aligned for O_DIRECT on any
// file system here: its address is a multiple of 4096. Reads and writes of
// O_DIRECT files need their buffer, offset and length aligned; offsets and
// lengths are the caller's to choose. The memory is ordinary Go memory,
// freed by the collector. A size <= 0 gives nil.
func AlignedBuffer(size int) []byte {
	if size <= 0 {
		return nil
	}
	b := make([]byte, size+directAlign)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return b[skip : skip+size : skip+size]
}
