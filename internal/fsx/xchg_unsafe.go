//go:build linux

package fsx

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// xfsExchangeRange is struct xfs_exchange_range of xfs_fs.h (and xfstests'
// fiexchange.h); x/sys does not have it.
type xfsExchangeRange struct {
	file1Fd     int32
	pad         uint32
	file1Offset uint64
	file2Offset uint64
	length      uint64
	flags       uint64
}

// xfsIocExchangeRange is _IOW('X', 129, struct xfs_exchange_range).
const xfsIocExchangeRange = 1<<30 | uint(unsafe.Sizeof(xfsExchangeRange{}))<<16 | 'X'<<8 | 129

// xfsExchangeRangeDryRun is XFS_EXCHANGE_RANGE_DRY_RUN.
const xfsExchangeRangeDryRun = 1 << 2

// exchangeRange issues XFS_IOC_EXCHANGE_RANGE on fd: exchange
// [file1Offset, +length) of file1Fd with [file2Offset, +length) of fd.
func exchangeRange(fd int, r *xfsExchangeRange) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(xfsIocExchangeRange), uintptr(unsafe.Pointer(r)))
	if e != 0 {
		return e
	}
	return nil
}
