//go:build linux

package core

import (
	"slices"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// FlagFixedFile says that Iocb.Fd is not an fd but an index into the
// files registered with the context (kaio.Context.RegisterFiles), as
// IOSQE_FIXED_FILE says of an io_uring SQE's fd.
const FlagFixedFile uint32 = 2

// knownFlags are the Iocb.Flags kaio knows.
const knownFlags = FlagResFd | FlagFixedFile

// Files is a context's registered files: for each index, the context's
// own duplicate of the fd the caller registered (close on exec), and what
// LookFd found of it then. A request on a registered file is checked
// against that record, a Private hint, without a syscall: what fcntl
// changes later (F_SETFL's O_DIRECT, O_APPEND, O_NONBLOCK) is not seen
// until the files are registered again.
//
// A table does not change once made: an update (Update) makes a new one,
// which shares the duplicates of the slots it keeps. Each duplicate is
// closed when the last table holding it goes, and a table goes with its
// last reference: the registration's own (dropped by Unregister, Update
// or Destroy) and one for each Submit or Do that uses the table (Acquire,
// Release). A request that outlives its Submit has taken its own
// reference to its file by then, as it does when the caller closes a
// plain fd, so closing the duplicates never changes which file it
// touches.
type Files struct {
	ents []FdInfo   // by index; Fd -1 for an empty slot
	dups []*fileDup // by index: the duplicate's holders; nil for an empty slot
	refs atomic.Int64
	// seed is what Submit hands an engine as its hint (FdInfo.Use).
	seed FdInfo
}

// fileDup counts the tables that hold one duplicate.
type fileDup struct{ tables atomic.Int64 }

// OpenFiles duplicates fds (-1 marks an empty slot) and looks each up,
// with one reference held (the registration's). On an error, EBADF for an
// fd that is not open or EMFILE when no fd is left for a duplicate, it
// closes what it made.
func OpenFiles(fds []int) (*Files, error) {
	f := &Files{ents: make([]FdInfo, len(fds)), dups: make([]*fileDup, len(fds))}
	for i := range f.ents {
		f.ents[i].Reset()
	}
	if err := f.fill(0, fds); err != nil {
		return nil, err
	}
	return f.done(), nil
}

// Update returns a new table: f's, with the slots from off on replaced by
// duplicates of fds (-1 empties a slot). The slots it keeps share f's
// duplicates. f is left as it was, and the caller drops its reference when
// it has put the new table in f's place. EINVAL when the slots run past
// the end of f; EBADF or EMFILE as OpenFiles, with nothing made left open.
func (f *Files) Update(off int, fds []int) (*Files, error) {
	if off < 0 || off > len(f.ents) || len(fds) > len(f.ents)-off {
		return nil, unix.EINVAL
	}
	g := &Files{ents: slices.Clone(f.ents), dups: slices.Clone(f.dups)}
	for i := range fds {
		g.ents[off+i].Reset()
		g.dups[off+i] = nil
	}
	for _, d := range g.dups {
		if d != nil {
			d.tables.Add(1)
		}
	}
	if err := g.fill(off, fds); err != nil {
		return nil, err
	}
	return g.done(), nil
}

// fill duplicates fds into the empty slots from off on. On an error it
// closes the table (what it made and what it shares).
func (f *Files) fill(off int, fds []int) error {
	for i, fd := range fds {
		if fd == -1 {
			continue
		}
		if fd < 0 {
			f.closeAll()
			return unix.EBADF
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			f.closeAll()
			return err
		}
		e := &f.ents[off+i]
		if err := LookFd(dup, e); err != nil {
			unix.Close(dup)
			e.Reset()
			f.closeAll()
			return err
		}
		e.Private = true
		f.dups[off+i] = new(fileDup)
		f.dups[off+i].tables.Store(1)
	}
	return nil
}

// done gives a filled table its registration's reference and its seed.
func (f *Files) done() *Files {
	f.refs.Store(1)
	f.seed = FdInfo{Fd: -1, ResFd: -1, Files: f}
	return f
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

// closeAll lets go of the table's duplicates, closing each that no other
// table holds.
func (f *Files) closeAll() {
	for i, d := range f.dups {
		if d != nil && d.tables.Add(-1) == 0 {
			unix.Close(f.ents[i].Fd)
		}
		f.ents[i].Fd, f.dups[i] = -1, nil
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
