//go:build linux

package core

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// SignalEventfd adds one to the eventfd fd, as the kernel's eventfd_signal
// does for an iocb with IOCB_FLAG_RESFD. The count is a host-endian uint64
// (eventfd(2)): one is 2^56 written as bytes {1, 0, ...} on a big-endian
// machine. The write does not block short of a counter near 2^64, and its
// error is of no use: engines hand it an fd the request holds itself.
func SignalEventfd(fd int) {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(fd, one[:])
}
