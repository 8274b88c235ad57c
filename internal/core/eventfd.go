package core

import "golang.org/x/sys/unix"

// SignalEventfd adds one to the eventfd fd, as the kernel's eventfd_signal
// does for an iocb with IOCB_FLAG_RESFD. The write does not block short of
// a counter near 2^64, and its error is of no use: an fd the user closed
// since Submit is the user's doing.
func SignalEventfd(fd int) {
	var one = [8]byte{1} // eventfd counters are host-endian: amd64 and arm64 are little
	unix.Write(fd, one[:])
}
