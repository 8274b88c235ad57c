//go:build linux

package core

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFilesCheckedOnce: Check takes a registered file's record as it was
// at registration, with no syscall: an O_APPEND set on the file since then
// is not in it, and neither is the close of the caller's fd.
func TestFilesCheckedOnce(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "files")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.Open(f.Name(), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	files, err := OpenFiles([]int{-1, fd})
	if err != nil {
		t.Fatal(err)
	}
	dup := files.ents[1].Fd
	if dup == fd || dup < 0 || files.ents[0].Fd != -1 || !files.ents[1].Private {
		t.Fatalf("entries %+v", files.ents)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_APPEND); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)

	var fi FdInfo
	fi.Reset()
	fi.Use(files.Seed())
	i := &Iocb{Op: OpPWrite, Fd: 1, Flags: FlagFixedFile, Buf: make([]byte, 8)}
	if err := Check(i, &fi); err != nil {
		t.Fatalf("Check of a fixed write: %v", err)
	}
	if fi.Fd != dup || fi.Flags&unix.O_APPEND != 0 || fi.Files != files || fi.Private {
		t.Fatalf("after Check: %+v; want fd %d, flags without O_APPEND", fi, dup)
	}
	// The kernel's flags did change: the duplicate shares the open file.
	if fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0); fl&unix.O_APPEND == 0 {
		t.Fatalf("the duplicate's flags %#x lack O_APPEND", fl)
	}
	for _, idx := range []int{0, 2, -1} {
		i.Fd = idx
		if err := Check(i, &fi); Errno(err) != unix.EBADF || err.(*Refusal).Why != WhyFixedBad {
			t.Errorf("index %d: %v, want EBADF (WhyFixedBad)", idx, err)
		}
	}
	// A plain fd after a fixed one is looked up, not taken for it.
	i.Fd, i.Flags = int(f.Fd()), 0
	if err := Check(i, &fi); err != nil || fi.Fd != int(f.Fd()) {
		t.Fatalf("a plain write after a fixed one: %v, fd %d", err, fi.Fd)
	}
}

// TestFilesReferences: the duplicates are closed with the last reference,
// and no reference is taken after that.
func TestFilesReferences(t *testing.T) {
	files, err := OpenFiles([]int{0})
	if err != nil {
		t.Fatal(err)
	}
	dup := files.ents[0].Fd
	if !files.Acquire() {
		t.Fatal("Acquire of a live table failed")
	}
	files.Release() // the registration's
	if _, err := unix.FcntlInt(uintptr(dup), unix.F_GETFD, 0); err != nil {
		t.Fatalf("the duplicate closed while a Submit holds the table: %v", err)
	}
	files.Release() // the Submit's, the last
	if _, err := unix.FcntlInt(uintptr(dup), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("the duplicate is still open after the last reference: %v", err)
	}
	if files.Acquire() {
		t.Fatal("Acquire of a closed table succeeded")
	}
}

// TestOpenFilesRefused: a bad fd refuses the whole table and leaves no
// duplicate open.
func TestOpenFilesRefused(t *testing.T) {
	for _, fds := range [][]int{{0, -2}, {0, 1 << 20}} {
		before, _ := os.ReadDir("/proc/self/fd")
		if _, err := OpenFiles(fds); err != unix.EBADF {
			t.Errorf("OpenFiles(%v): %v, want EBADF", fds, err)
		}
		if after, _ := os.ReadDir("/proc/self/fd"); len(after) != len(before) {
			t.Errorf("OpenFiles(%v) left %d fds open", fds, len(after)-len(before))
		}
	}
}

// TestFilesUpdate: an update shares the duplicates of the slots it keeps,
// closes a replaced one with the last table that holds it, and leaves
// nothing open when it fails.
func TestFilesUpdate(t *testing.T) {
	before, _ := os.ReadDir("/proc/self/fd")
	f, err := OpenFiles([]int{0, 1, -1})
	if err != nil {
		t.Fatal(err)
	}
	kept, replaced := f.ents[0].Fd, f.ents[1].Fd
	if _, err := f.Update(2, []int{0, 0}); err != unix.EINVAL {
		t.Fatalf("an update past the end: %v, want EINVAL", err)
	}
	if _, err := f.Update(1, []int{2, -2}); err != unix.EBADF {
		t.Fatalf("an update with fd -2: %v, want EBADF", err)
	}
	open := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil
	}
	if !open(kept) || !open(replaced) {
		t.Fatal("a failed update closed a duplicate of the table it started from")
	}
	g, err := f.Update(1, []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	if g.ents[0].Fd != kept || g.ents[1].Fd == replaced || g.ents[1].Fd < 0 || g.ents[2].Fd < 0 {
		t.Fatalf("updated table %+v", g.ents)
	}
	f.Release() // the old registration goes: its own slot 1 with it
	if !open(kept) || open(replaced) {
		t.Fatalf("after the old table went: kept open %v, replaced open %v; want true, false", open(kept), open(replaced))
	}
	g.Release()
	if open(kept) {
		t.Fatal("the shared duplicate outlived both tables")
	}
	if after, _ := os.ReadDir("/proc/self/fd"); len(after) != len(before) {
		t.Errorf("%d fds left open", len(after)-len(before))
	}
}
