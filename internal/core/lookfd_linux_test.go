//go:build linux

package core

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// mtime reads fd's mtime (which flags it as queried, on a file system with
// multigrain timestamps: the next write then takes a fine-grained time).
func mtime(t *testing.T, fd int) unix.StatxTimestamp {
	t.Helper()
	var sx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MTIME, &sx); err != nil {
		t.Skipf("statx: %v", err)
	}
	return sx.Mtime
}

// LookFd must not ask for the file's times. Since Linux 6.13, ext4, xfs,
// btrfs and tmpfs give a write a fine-grained mtime (and so an inode
// update, a journal handle on ext4) only when someone has read the times
// since the last change; otherwise a write takes the coarse clock, held
// at or above the last fine time handed out (the floor), which moves once
// a tick, so that most writes leave the times alone. An fstat per Submit
// made every Submit's next write update the inode: 1,035 journal handles
// for 8,192 64 KiB writes in batches of 8, against 41 without it.
//
// The check, on files a and b: read a's times (flagging them); write a,
// which takes a fine time and raises the floor to it; write b, which
// takes the floor; LookFd(a); write a again. Unless LookFd flagged a's
// times, that write finds the floor equal to a's mtime and keeps it, and
// a and b end with the same mtime (unless a tick passed: one of a few
// tries is enough). Where times are not multigrain, both take the coarse
// clock, and a and b agree too whatever LookFd does.
func TestLookFdLeavesTimesUnqueried(t *testing.T) {
	dir := t.TempDir()
	var fds [2]int
	for k := range fds {
		f, err := os.Create(filepath.Join(dir, string(rune('a'+k))))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fds[k] = int(f.Fd())
	}
	a, b := fds[0], fds[1]
	one := []byte{1}
	for try := 0; try < 50; try++ {
		unix.Pwrite(b, one, 0)
		mtime(t, a)
		unix.Pwrite(a, one, 0)
		unix.Pwrite(b, one, 0)
		var fi FdInfo
		fi.Reset()
		if err := LookFd(a, &fi); err != nil {
			t.Fatal(err)
		}
		unix.Pwrite(a, one, 0)
		if mtime(t, a) == mtime(t, b) {
			return
		}
	}
	t.Fatal("every write after LookFd took a new mtime: LookFd reads the file's times, which makes each write update the inode")
}
