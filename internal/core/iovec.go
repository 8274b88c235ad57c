//go:build linux

package core

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// AppendIovecs appends to iov one iovec for each buffer of bufs, less
// their first skip bytes in all (what earlier transfers of a stream request
// moved already), leaving out empty buffers. With pin non-nil it pins each
// buffer, for a kernel that reads or writes it after the syscall returns;
// the caller pins the iovec array itself.
func AppendIovecs(iov []unix.Iovec, skip int64, pin *runtime.Pinner, bufs ...[]byte) []unix.Iovec {
	for _, b := range bufs {
		if int64(len(b)) <= skip {
			skip -= int64(len(b))
			continue
		}
		b = b[skip:]
		skip = 0
		if pin != nil {
			pin.Pin(&b[0])
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	return iov
}
