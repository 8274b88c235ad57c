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

// preadNowait is one preadv2(RWF_NOWAIT) of p at off: the page cache's
// answer without waiting for the disk, or EAGAIN.
func preadNowait(fd int, p []byte, off int64) (int, unix.Errno) {
	return rwNowait(false, fd, p, off)
}

// pwriteNowait is one pwritev2(RWF_NOWAIT): EAGAIN when the write would
// wait, EOPNOTSUPP where the file system does not do buffered writes
// without waiting (ext4).
func pwriteNowait(fd int, p []byte, off int64) (int, unix.Errno) {
	return rwNowait(true, fd, p, off)
}

func rwNowait(write bool, fd int, p []byte, off int64) (int, unix.Errno) {
	var iov [1]unix.Iovec
	iov[0].Base = &p[0]
	iov[0].SetLen(len(p))
	n, e := core.RWv(write, fd, iov[:], off, unix.RWF_NOWAIT, len(p) <= rawMax)
	runtime.KeepAlive(p) // the kernel had it through a uintptr
	return n, e
}
