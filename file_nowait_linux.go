package kaio

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// rawMax is the largest inline RWF_NOWAIT transfer made with RawSyscall,
// as in the retry engine: such a call never sleeps (the kernel says EAGAIN
// instead) and copies at most this much, so holding the P throughout costs
// less than the scheduler's entersyscall/exitsyscall around it.
const rawMax = 64 << 10

// rwNowait is one preadv2 (write false) or pwritev2 of p at off with
// RWF_NOWAIT: the page cache's answer without waiting for the disk, or
// EAGAIN; EOPNOTSUPP where the file system does not take the flag (ext4's
// buffered writes).
func rwNowait(write bool, fd int, p []byte, off int64) (int, unix.Errno) {
	var iov [1]unix.Iovec
	iov[0].Base = &p[0]
	iov[0].SetLen(len(p))
	n, e := core.RWv(write, fd, iov[:], off, unix.RWF_NOWAIT, len(p) <= rawMax)
	runtime.KeepAlive(p) // the kernel had it through a uintptr
	return n, e
}
