//go:build linux

package core

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// This file is the validation every engine does at Submit, before it takes
// anything: the errnos of io_submit (EINVAL, EBADF) decided up front, so
// that nothing is half submitted. Every engine calls it; the retry engine
// then chooses a path from what it learnt about the fd.

// FdInfo is what Submit learns about an fd, once per fd per Submit call: an
// fd number may be closed and reused between calls, so nothing is kept
// longer.
type FdInfo struct {
	Fd       int
	Flags    int    // F_GETFL
	Mode     uint32 // st_mode
	Dev, Ino uint64
	// O_DIRECT alignment (statx STATX_DIOALIGN, else 512); 0 unless O_DIRECT.
	MemAlign, OffAlign uint32
	// ResFd is the last Iocb.ResFd found to be an eventfd, or -1.
	ResFd int
	// Hint, if set, describes an fd that its owner keeps open for the
	// whole Submit call (a kaio.File's), as LookFd found it when the
	// owner opened it. Looking that fd up again then takes only F_GETFL,
	// the one thing about an open fd that can change (fcntl F_SETFL);
	// should O_DIRECT have changed, the fd is looked up in full.
	Hint *FdInfo
	// Private, in a Hint, says that nobody but its owner can reach the
	// fd's open file description to change its flags (a kaio.File whose
	// descriptor has not been handed out): the hint is then taken whole,
	// without a syscall.
	Private bool
	// Files are the context's registered files, for the iocbs with
	// FlagFixedFile (FdInfo.Use); nil if there are none.
	Files *Files
}

// Reset forgets the cached fds; Hint stays.
func (f *FdInfo) Reset() { f.Fd, f.ResFd = -1, -1 }

// Seekable reports whether the fd has a file position (a regular file or a
// block device); offsets of other fds are ignored.
func (f *FdInfo) Seekable() bool {
	t := f.Mode & unix.S_IFMT
	return t == unix.S_IFREG || t == unix.S_IFBLK
}

// Direct reports O_DIRECT.
func (f *FdInfo) Direct() bool { return f.Flags&unix.O_DIRECT != 0 }

// CanRead reports whether the fd is open for reading.
func (f *FdInfo) CanRead() bool {
	return f.Flags&unix.O_PATH == 0 && f.Flags&unix.O_ACCMODE != unix.O_WRONLY
}

// CanWrite reports whether the fd is open for writing.
func (f *FdInfo) CanWrite() bool {
	return f.Flags&unix.O_PATH == 0 && f.Flags&unix.O_ACCMODE != unix.O_RDONLY
}

// LookFd fills f for fd: EBADF if it is not open. With a Hint for fd it
// reads only the flags (see FdInfo.Hint), and with a Private one nothing.
func LookFd(fd int, f *FdInfo) error {
	if fd < 0 {
		return unix.EBADF
	}
	h := f.Hint
	if h != nil && h.Fd != fd {
		h = nil
	}
	if h != nil && h.Private {
		f.takeHint(h.Flags)
		return nil
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return unix.EBADF
	}
	if h != nil && (h.Flags^fl)&unix.O_DIRECT == 0 {
		f.takeHint(fl)
		return nil
	}
	// One statx that asks for no times. fstat reads them, and on a file
	// system with multigrain timestamps (Linux 6.13+: ext4, xfs, btrfs,
	// tmpfs) a read of the times makes the next write take a fine-grained
	// mtime, an inode update (a journal handle on ext4) that the coarse
	// clock would have spared it: one per Submit call. With O_DIRECT the
	// same statx also says the alignment (STATX_DIOALIGN).
	mask := unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_INO
	direct := fl&unix.O_DIRECT != 0
	if direct {
		mask |= unix.STATX_DIOALIGN
	}
	var sx unix.Statx_t
	if err := statxFd(fd, mask, &sx); err != nil {
		if err != unix.ENOSYS && err != unix.EPERM {
			return unix.EBADF
		}
		return lookFdFstat(fd, fl, f) // statx refused (before 4.11, or by seccomp)
	}
	*f = FdInfo{Fd: fd, Flags: fl, Mode: uint32(sx.Mode), Dev: unix.Mkdev(sx.Dev_major, sx.Dev_minor), Ino: sx.Ino, ResFd: f.ResFd, Hint: f.Hint, Files: f.Files}
	if direct {
		f.MemAlign, f.OffAlign = 512, 512
		if sx.Mask&unix.STATX_DIOALIGN != 0 && sx.Dio_offset_align != 0 {
			f.MemAlign, f.OffAlign = sx.Dio_mem_align, sx.Dio_offset_align
		}
	}
	return nil
}

// takeHint fills f from its Hint, with the flags fl, keeping its ResFd.
func (f *FdInfo) takeHint(fl int) {
	h, resfd, files := f.Hint, f.ResFd, f.Files
	*f = *h
	f.Flags, f.ResFd, f.Hint, f.Files, f.Private = fl, resfd, h, files, false
}

// lookFdFstat is LookFd where statx is refused: fstat, and 512-byte
// O_DIRECT alignment.
func lookFdFstat(fd, fl int, f *FdInfo) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return unix.EBADF
	}
	*f = FdInfo{Fd: fd, Flags: fl, Mode: st.Mode, Dev: uint64(st.Dev), Ino: st.Ino, ResFd: f.ResFd, Hint: f.Hint, Files: f.Files} // Dev is 32-bit on mips
	if f.Direct() {
		f.MemAlign, f.OffAlign = 512, 512
	}
	return nil
}

// KnownRWF are the preadv2/pwritev2 flags Linux defines today.
const KnownRWF = unix.RWF_HIPRI | unix.RWF_DSYNC | unix.RWF_SYNC | unix.RWF_NOWAIT | unix.RWF_APPEND | 0x20 /* RWF_NOAPPEND */ | 0x40 /* RWF_ATOMIC */ | 0x80 /* RWF_DONTCACHE */

// IovMax is UIO_MAXIOV.
const IovMax = 1024

// Check validates i as io_submit does, with the same errnos as the retry
// engine, and without side effects but one: a stale claim on i (a copy of
// an iocb that was in flight) is dropped. A refusal is a *Refusal, which
// says why. fi caches what was learnt about the last fd (call fi.Reset
// before the first Check of a Submit); after a nil return for an op with
// an fd (every op but NOOP), fi describes i.Fd, and fi.Fd is the fd the
// request works on: i.Fd itself, or with FlagFixedFile the context's
// duplicate of registered file i.Fd.
func Check(i *Iocb, fi *FdInfo) error {
	switch {
	case i == nil:
		return Refuse(unix.EINVAL, WhyNilIocb, 0, 0)
	case !i.Op.Valid():
		return Refuse(unix.EINVAL, WhyOp, int64(i.Op), 0)
	case i.Flags&^knownFlags != 0:
		return Refuse(unix.EINVAL, WhyFlags, int64(i.Flags), 0)
	}
	i.dropStale()
	rw := i.Op.Reads() || i.Op.Writes()
	switch {
	case rw && i.RWFlags&^KnownRWF != 0:
		return Refuse(unix.EINVAL, WhyRWFlags, int64(i.RWFlags), 0)
	case !rw && i.RWFlags != 0:
		return Refuse(unix.EINVAL, WhyRWFlagsOp, int64(i.RWFlags), int64(i.Op))
	case i.Op.Vectored() && len(i.Iov) > IovMax:
		return Refuse(unix.EINVAL, WhyIovMax, int64(len(i.Iov)), 0)
	}
	if i.Flags&FlagResFd != 0 && (i.ResFd != fi.ResFd || i.ResFd < 0) {
		if err := CheckEventfd(i.ResFd); err != nil {
			why := WhyResFdKind
			if err == unix.EBADF {
				why = WhyResFdBad
			}
			return Refuse(err.(unix.Errno), why, int64(i.ResFd), 0)
		}
		fi.ResFd = i.ResFd
	}
	if i.Op == OpNoop {
		return nil
	}
	if i.Flags&FlagFixedFile != 0 {
		e := fi.Files.entry(i.Fd)
		if e == nil {
			fi.Fd = -1
			return Refuse(unix.EBADF, WhyFixedBad, int64(i.Fd), int64(fi.Files.Len()))
		}
		if fi.Fd != e.Fd {
			fi.takeFixed(e)
		}
	} else if fi.Fd != i.Fd || fi.Fd < 0 {
		if err := LookFd(i.Fd, fi); err != nil {
			fi.Fd = -1
			return Refuse(unix.EBADF, WhyFdBad, int64(i.Fd), 0)
		}
	}
	switch {
	case i.Op == OpPoll, i.Op == OpFSync, i.Op == OpFDSync:
		return nil
	case i.Op.Reads() && !fi.CanRead():
		return Refuse(unix.EBADF, fixedWhy(i, WhyNotRead, WhyFixedNotRead), int64(i.Fd), 0)
	case i.Op.Writes() && !fi.CanWrite():
		return Refuse(unix.EBADF, fixedWhy(i, WhyNotWrite, WhyFixedNotWrite), int64(i.Fd), 0)
	}
	if !fi.Seekable() {
		return nil
	}
	if i.Offset < 0 {
		return Refuse(unix.EINVAL, WhyOffset, i.Offset, 0)
	}
	if fi.Direct() {
		return checkDirect(i, fi)
	}
	return nil
}

// fixedWhy is plain, or fixed when i names a registered file.
func fixedWhy(i *Iocb, plain, fixed Why) Why {
	if i.Flags&FlagFixedFile != 0 {
		return fixed
	}
	return plain
}

// checkDirect refuses an O_DIRECT transfer whose offset, or any of whose
// buffers' address or length, is not aligned as fi says.
func checkDirect(i *Iocb, fi *FdInfo) error {
	ma, oa := uintptr(fi.MemAlign), int64(fi.OffAlign)
	if i.Offset%oa != 0 {
		return Refuse(unix.EINVAL, WhyDirectOff, i.Offset, oa)
	}
	check := func(b []byte, vec int) error {
		var r *Refusal
		switch {
		case BufAddr(b)%ma != 0:
			r = Refuse(unix.EINVAL, WhyDirectAddr, int64(BufAddr(b)), int64(ma))
		case int64(len(b))%oa != 0:
			r = Refuse(unix.EINVAL, WhyDirectLen, int64(len(b)), oa)
		default:
			return nil
		}
		r.Vec = vec
		return r
	}
	if !i.Op.Vectored() {
		return check(i.Buf, -1)
	}
	for j, b := range i.Iov {
		if err := check(b, j); err != nil {
			return err
		}
	}
	return nil
}

// CheckEventfd is the kernel's eventfd_ctx_fdget: EBADF if fd is not open,
// EINVAL if it is not an eventfd (signalling some other file would write
// eight bytes into it). Without /proc it can only check that fd is open.
func CheckEventfd(fd int) error {
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
