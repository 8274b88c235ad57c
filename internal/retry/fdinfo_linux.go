package retry

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// fdInfo is what Submit learns about an fd, once per fd per Submit call: an
// fd number may be closed and reused between calls, so nothing is kept
// longer (except nowaitOK, keyed by device and inode, not by fd).
type fdInfo struct {
	fd       int
	flags    int    // F_GETFL
	mode     uint32 // st_mode
	dev, ino uint64
	// O_DIRECT alignment (statx STATX_DIOALIGN); 0 when unknown.
	memAlign, offAlign uint32
	// resfd is the last ResFd found to be an eventfd, or -1.
	resfd int
	// nowaitNo: the context's record of RWF_NOWAIT refusals for this file.
	nowaitNo uint8
}

func (f *fdInfo) seekable() bool {
	t := f.mode & unix.S_IFMT
	return t == unix.S_IFREG || t == unix.S_IFBLK
}

func (f *fdInfo) direct() bool   { return f.flags&unix.O_DIRECT != 0 }
func (f *fdInfo) nonblock() bool { return f.flags&unix.O_NONBLOCK != 0 }
func (f *fdInfo) canRead() bool {
	return f.flags&unix.O_PATH == 0 && f.flags&unix.O_ACCMODE != unix.O_WRONLY
}
func (f *fdInfo) canWrite() bool {
	return f.flags&unix.O_PATH == 0 && f.flags&unix.O_ACCMODE != unix.O_RDONLY
}

// lookFd fills f for fd: EBADF if it is not open.
func lookFd(fd int, f *fdInfo) error {
	if fd < 0 {
		return unix.EBADF
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return unix.EBADF
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return unix.EBADF
	}
	*f = fdInfo{fd: fd, flags: fl, mode: st.Mode, dev: st.Dev, ino: st.Ino, resfd: f.resfd}
	if f.direct() {
		f.memAlign, f.offAlign = 512, 512
		var sx unix.Statx_t
		if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx); err == nil && sx.Mask&unix.STATX_DIOALIGN != 0 && sx.Dio_offset_align != 0 {
			f.memAlign, f.offAlign = sx.Dio_mem_align, sx.Dio_offset_align
		}
	}
	return nil
}

// checkEventfd is the kernel's eventfd_ctx_fdget: EBADF if fd is not open,
// EINVAL if it is not an eventfd (signalling some other file would write
// eight bytes into it). Without /proc it can only check that fd is open.
func checkEventfd(fd int) error {
	if fd < 0 {
		return unix.EBADF
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return unix.EBADF
	}
	var b [32]byte
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), b[:])
	if err != nil {
		return nil
	}
	if string(b[:n]) != "anon_inode:[eventfd]" {
		return unix.EINVAL
	}
	return nil
}
