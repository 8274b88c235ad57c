package fsx

import (
	"golang.org/x/sys/unix"
)

// probe runs the C tool's start-up probes, in its order, turning off what
// the file system refuses, with its messages on stderr. They matter to the
// op stream: fallocate, keep-size, unshare and zero-range decide whether
// some operations draw extra random numbers.
func (f *fsx) probe() {
	if f.fallocateCalls {
		f.fallocateCalls = f.testFallocate(0, "0")
	}
	if f.keepSizeCalls {
		f.keepSizeCalls = f.testFallocate(unix.FALLOC_FL_KEEP_SIZE, "FALLOC_FL_KEEP_SIZE")
	}
	if f.unshareCalls {
		f.unshareCalls = f.testFallocate(unix.FALLOC_FL_UNSHARE_RANGE, "FALLOC_FL_UNSHARE_RANGE")
	}
	if f.punchHoleCalls {
		f.punchHoleCalls = f.testFallocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, "FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE")
	}
	if f.zeroRangeCalls {
		f.zeroRangeCalls = f.testFallocate(unix.FALLOC_FL_ZERO_RANGE, "FALLOC_FL_ZERO_RANGE")
	}
	if f.collapseCalls {
		f.collapseCalls = f.testFallocate(unix.FALLOC_FL_COLLAPSE_RANGE, "FALLOC_FL_COLLAPSE_RANGE")
	}
	if f.insertCalls {
		f.insertCalls = f.testFallocate(unix.FALLOC_FL_INSERT_RANGE, "FALLOC_FL_INSERT_RANGE")
	}
	if f.cloneCalls {
		f.cloneCalls = f.testCloneRange()
	}
	if f.dedupeCalls {
		f.dedupeCalls = f.testDedupeRange()
	}
	if f.copyRangeCalls {
		f.copyRangeCalls = f.testCopyRange()
	}
	if f.exchangeCalls {
		f.exchangeCalls = f.testExchangeRange()
	}
	if f.dontcache {
		f.dontcache = f.testDontcache()
	}
	if f.atomic {
		f.atomic = f.testAtomicWrites()
	}
}

func (f *fsx) notSupported(what string) {
	if !f.cfg.Quiet {
		f.eprintf("main: filesystem does not support %s, disabling!\n", what)
	}
}

// testFallocate: one byte at EOF; ENOSYS or EOPNOTSUPP means no. Any other
// error counts as support, as in the C tool. Lite runs never fallocate.
func (f *fsx) testFallocate(mode uint32, name string) bool {
	if f.cfg.Lite {
		return false
	}
	err := unix.Fallocate(f.fd, mode, f.fileSize, 1)
	if err == unix.ENOSYS || err == unix.EOPNOTSUPP {
		f.notSupported("fallocate mode " + name)
		return false
	}
	if err := unix.Ftruncate(f.fd, f.fileSize); err != nil {
		f.warn(err, "main: ftruncate")
		f.die(132)
	}
	return true
}

// The probes below take ENOSYS for "not supported" too, where the C tool
// takes only EOPNOTSUPP or ENOTTY: a kernel answers ENOTTY for an ioctl it
// does not know, but an emulator (qemu-user) says ENOSYS, and a kernel
// before 4.6 has no preadv2; the C tool would then fail on the first such
// operation instead of disabling it.

func (f *fsx) testCloneRange() bool {
	err := unix.IoctlFileCloneRange(f.fd, &unix.FileCloneRange{Src_fd: int64(f.fd)})
	if err == unix.EOPNOTSUPP || err == unix.ENOTTY || err == unix.ENOSYS {
		f.notSupported("clone range")
		return false
	}
	return true
}

func (f *fsx) testDedupeRange() bool {
	newLen := f.blockSize * 2
	if f.fileSize < newLen {
		if err := unix.Ftruncate(f.fd, newLen); err != nil {
			f.warn(err, "main: ftruncate")
			f.die(132)
		}
	}
	r := &unix.FileDedupeRange{
		Src_length: uint64(f.blockSize),
		Info:       []unix.FileDedupeRangeInfo{{Dest_fd: int64(f.fd), Dest_offset: uint64(f.blockSize)}},
	}
	var e unix.Errno
	if err := unix.IoctlFileDedupeRange(f.fd, r); err != nil {
		e, _ = err.(unix.Errno)
	} else if r.Info[0].Status < 0 {
		e = unix.Errno(-r.Info[0].Status)
	}
	ok := true
	// Older kernels may return EINVAL.
	if e == unix.EOPNOTSUPP || e == unix.ENOTTY || e == unix.EINVAL || e == unix.ENOSYS {
		f.notSupported("dedupe range")
		ok = false
	}
	if f.fileSize < newLen {
		if err := unix.Ftruncate(f.fd, f.fileSize); err != nil {
			f.warn(err, "main: ftruncate")
			f.die(132)
		}
	}
	return ok
}

func (f *fsx) testCopyRange() bool {
	o1, o2 := int64(0), int64(1)
	_, err := unix.CopyFileRange(f.fd, &o1, f.fd, &o2, 1, 0)
	if err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.ENOTTY {
		f.notSupported("copy range")
		return false
	}
	return true
}

func (f *fsx) testExchangeRange() bool {
	err := exchangeRange(f.fd, &xfsExchangeRange{file1Fd: int32(f.fd), flags: xfsExchangeRangeDryRun})
	if err == unix.EOPNOTSUPP || err == unix.ENOTTY || err == unix.ENOSYS {
		f.notSupported("exchange range")
		return false
	}
	return true
}

func (f *fsx) testDontcache() bool {
	var buf [4096]byte
	_, err := unix.Preadv2(f.fd, [][]byte{buf[:]}, 0, unix.RWF_DONTCACHE)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		f.notSupported("dontcache IO")
		return false
	}
	return true
}

func (f *fsx) testAtomicWrites() bool {
	if !f.cfg.Direct {
		if !f.cfg.Quiet {
			f.eprintf("main: atomic writes need O_DIRECT (-Z), disabling!\n")
		}
		return false
	}
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, f.fname, 0, unix.STATX_WRITE_ATOMIC, &stx); err != nil {
		// The C tool prints the syscall's return value, -1.
		f.eprintf("main: Statx failed with %d. Failed to determine atomic write limits,  disabling!\n", -1)
		return false
	}
	if stx.Attributes&unix.STATX_ATTR_WRITE_ATOMIC != 0 && stx.Atomic_write_unit_min > 0 {
		f.awuMin, f.awuMax = stx.Atomic_write_unit_min, stx.Atomic_write_unit_max
		return true
	}
	if !f.cfg.Quiet {
		f.eprintf("main: IO Stack does not support atomic writes, disabling!\n")
	}
	return false
}
