//go:build linux

package core

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// FlagFixedFile says that Iocb.Fd is not an fd but an index into the
// files registered with the context (kaio.Context.RegisterFiles), as
// IOSQE_FIXED_FILE says of an io_uring SQE's fd.
const FlagFixedFile uint32 = 2

// knownFlags are the Iocb.Flags kaio knows.
const knownFlags = FlagResFd | FlagFixedFile

// MaxFiles bounds how many files one registration holds: io_uring's
// IORING_MAX_FIXED_FILES, applied on every engine.
const MaxFiles = 1 << 20

// Files is a context's registered files: for each index, the context's
// own duplicate of the fd the caller registered (close on exec), and what
// LookFd found of it then. A request on a registered file is checked
// against that record, a Private hint, without a syscall: what fcntl
// changes later (F_SETFL's O_DIRECT, O_APPEND, O_NONBLOCK) is not seen
// until the files are registered again.
//
// The duplicates are closed when the last reference goes: the
// registration's own (dropped by Unregister or Destroy) and one for each
// Submit or Do that uses the table (Acquire, Release). A request that
// outlives its Submit has taken its own reference to its file by then, as
// it does when the caller closes a plain fd, so closing the duplicates
// never changes which file it touches.
type Files struct {
	ents []FdInfo // by index; Fd -1 for an empty slot
	refs atomic.Int64
	// seed is what Submit hands an engine as its hint (FdInfo.Use).
	seed FdInfo
}

// OpenFiles duplicates fds (-1 marks an empty slot) and looks each up,
// with one reference held (the registration's). On an error, EBADF for an
// fd that is not open or EMFILE when no fd is left for a duplicate, it
// closes what it made.
func OpenFiles(fds []int) (*Files, error) {
	f := &Files{ents: make([]FdInfo, len(fds))}
	for i, fd := range fds {
		e := &f.ents[i]
		e.Reset()
		if fd == -1 {
			continue
		}
		if fd < 0 {
			f.closeAll()
			return nil, unix.EBADF
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			f.closeAll()
			return nil, err
		}
		if err := LookFd(dup, e); err != nil {
			unix.Close(dup)
			f.closeAll()
			return nil, err
		}
		e.Private = true
	}
	f.refs.Store(1)
	f.seed = FdInfo{Fd: -1, ResFd: -1, Files: f}
	return f, nil
}

// Seed is the hint that hands the table to an engine's Submit or Do.
func (f *Files) Seed() *FdInfo { return &f.seed }

// Len is how many slots the table has (0 for none).
func (f *Files) Len() int {
	if f == nil {
		return 0
	}
	return len(f.ents)
}

// Acquire takes a reference for one Submit or Do; false if the table is
// closed already (its last reference gone).
func (f *Files) Acquire() bool {
	for {
		n := f.refs.Load()
		if n <= 0 {
			return false
		}
		if f.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release drops a reference, and closes the duplicates with the last.
func (f *Files) Release() {
	if f.refs.Add(-1) == 0 {
		f.closeAll()
	}
}

// closeAll closes the duplicates made so far.
func (f *Files) closeAll() {
	for i := range f.ents {
		if e := &f.ents[i]; e.Fd >= 0 {
			unix.Close(e.Fd)
			e.Fd = -1
		}
	}
}

// entry is the record of index i, or nil if f is nil, i is out of range
// or its slot is empty.
func (f *Files) entry(i int) *FdInfo {
	if f == nil || i < 0 || i >= len(f.ents) || f.ents[i].Fd < 0 {
		return nil
	}
	return &f.ents[i]
}

// Use seeds f, just Reset, with what the caller of a Submit or Do knows:
// nothing (nil), the Hint of an fd it keeps open throughout (a
// kaio.File's), or its registered files (Files.Seed).
func (f *FdInfo) Use(hint *FdInfo) {
	if hint != nil && hint.Files != nil {
		f.Files = hint.Files
		return
	}
	f.Hint = hint
}

// takeFixed fills f from the registered file e, keeping what f carries
// for the whole call.
func (f *FdInfo) takeFixed(e *FdInfo) {
	resfd, hint, files := f.ResFd, f.Hint, f.Files
	*f = *e
	f.ResFd, f.Hint, f.Files, f.Private = resfd, hint, files, false
}
