//go:build linux

package core

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheck(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, make([]byte, 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	rw, _ := os.OpenFile(name, os.O_RDWR, 0)
	ro, _ := os.Open(name)
	defer rw.Close()
	defer ro.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	var p [2]int
	unix.Pipe2(p[:], unix.O_CLOEXEC)
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 100)
	for _, tc := range []struct {
		name string
		i    *Iocb
		want error
	}{
		{"nil", nil, unix.EINVAL},
		{"noop", &Iocb{Op: OpNoop, Fd: -7}, nil},
		{"op 4", &Iocb{Op: 4}, unix.EINVAL},
		{"flags", &Iocb{Op: OpNoop, Flags: 4}, unix.EINVAL},
		{"resfd eventfd", &Iocb{Op: OpNoop, Flags: FlagResFd, ResFd: efd}, nil},
		{"resfd file", &Iocb{Op: OpNoop, Flags: FlagResFd, ResFd: int(rw.Fd())}, unix.EINVAL},
		{"resfd negative", &Iocb{Op: OpNoop, Flags: FlagResFd, ResFd: -1}, unix.EBADF},
		{"read", &Iocb{Op: OpPRead, Fd: int(rw.Fd()), Buf: buf}, nil},
		{"negative offset", &Iocb{Op: OpPRead, Fd: int(rw.Fd()), Buf: buf, Offset: -1}, unix.EINVAL},
		{"pipe ignores offset", &Iocb{Op: OpPRead, Fd: p[0], Buf: buf, Offset: -1}, nil},
		{"write to read-only", &Iocb{Op: OpPWrite, Fd: int(ro.Fd()), Buf: buf}, unix.EBADF},
		{"write to pipe's read end", &Iocb{Op: OpPWrite, Fd: p[0], Buf: buf}, unix.EBADF},
		{"bad fd", &Iocb{Op: OpFSync, Fd: 1 << 20}, unix.EBADF},
		{"rwflags on poll", &Iocb{Op: OpPoll, Fd: p[0], RWFlags: unix.RWF_DSYNC}, unix.EINVAL},
		{"unknown rwflags", &Iocb{Op: OpPWrite, Fd: int(rw.Fd()), RWFlags: 1 << 20}, unix.EINVAL},
		{"too many iovecs", &Iocb{Op: OpPReadv, Fd: int(rw.Fd()), Iov: make([][]byte, IovMax+1)}, unix.EINVAL},
	} {
		var fi FdInfo
		fi.Reset()
		if err := Check(tc.i, &fi); !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestCheckCachesAcrossIocbs: the FdInfo of one Submit serves the next iocb
// on the same fd, and is replaced for another fd.
func TestCheckCachesAcrossIocbs(t *testing.T) {
	var p [2]int
	unix.Pipe2(p[:], unix.O_CLOEXEC)
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	var fi FdInfo
	fi.Reset()
	if err := Check(&Iocb{Op: OpPRead, Fd: p[0], Buf: make([]byte, 1)}, &fi); err != nil || fi.Fd != p[0] || fi.Seekable() {
		t.Fatalf("pipe: %v %+v", err, fi)
	}
	if err := Check(&Iocb{Op: OpPWrite, Fd: p[1], Buf: make([]byte, 1)}, &fi); err != nil || fi.Fd != p[1] {
		t.Fatalf("other end: %v %+v", err, fi)
	}
}

// TestLookFdFstatAgrees checks the fallback for kernels or sandboxes that
// refuse statx against the statx path, on a regular file opened O_DIRECT
// and on a pipe.
func TestLookFdFstatAgrees(t *testing.T) {
	_, fd := tempDirect(t)
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	for _, fd := range []int{fd, p[0]} {
		var a, b FdInfo
		a.Reset()
		b.Reset()
		if err := LookFd(fd, &a); err != nil {
			t.Fatal(err)
		}
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err := lookFdFstat(fd, fl, &b); err != nil {
			t.Fatal(err)
		}
		if a.Mode != b.Mode || a.Dev != b.Dev || a.Ino != b.Ino || a.Flags != b.Flags || a.Seekable() != b.Seekable() || a.Direct() != b.Direct() {
			t.Errorf("fd %d: statx %+v, fstat %+v", fd, a, b)
		}
		if a.Direct() && (a.OffAlign == 0 || a.MemAlign == 0 || b.OffAlign != 512) {
			t.Errorf("fd %d: alignment statx %d/%d, fstat %d", fd, a.MemAlign, a.OffAlign, b.OffAlign)
		}
	}
}

// TestLookFdAllocatesNothing: Submit looks up each fd once per call, so on
// an O_DIRECT fd (the statx path) as on others it must not allocate.
func TestLookFdAllocatesNothing(t *testing.T) {
	f, fd := tempDirect(t)
	for _, fd := range []int{fd, int(f.Fd())} {
		var fi FdInfo
		if n := testing.AllocsPerRun(100, func() { LookFd(fd, &fi) }); n != 0 {
			t.Errorf("LookFd of fd %d: %v allocations", fd, n)
		}
	}
}

// TestLookFdHint: with a Hint for the fd, LookFd takes everything from it
// but the flags, which it reads again; when O_DIRECT has changed since
// (fcntl F_SETFL), it looks the fd up in full; a closed fd is EBADF all
// the same; and a Hint for another fd is not used.
func TestLookFdHint(t *testing.T) {
	_, fd := tempDirect(t)
	hint := lookedUp(t, fd)
	found := hint
	hint.Ino++ // marks what came from the hint
	look := func(fd int) (FdInfo, error) {
		var fi FdInfo
		fi.Reset()
		fi.ResFd = 7
		fi.Hint = &hint
		err := LookFd(fd, &fi)
		if fi.Hint != &hint || fi.ResFd != 7 {
			t.Errorf("LookFd lost Hint or ResFd: %+v", fi)
		}
		return fi, err
	}

	fi, err := look(fd)
	if err != nil || fi.Ino != hint.Ino || !fi.Direct() || fi.MemAlign != found.MemAlign || fi.OffAlign != found.OffAlign {
		t.Fatalf("with a matching hint: %+v, %v; want the hint's (ino %d)", fi, err, hint.Ino)
	}
	// The flags are read again: O_NOATIME, O_APPEND or O_NONBLOCK may
	// change under a hint, and are seen.
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_APPEND); err != nil {
		t.Fatal(err)
	}
	if fi, _ := look(fd); fi.Flags&unix.O_APPEND == 0 || fi.Ino != hint.Ino {
		t.Errorf("O_APPEND set under the hint: flags %#x, ino %d", fi.Flags, fi.Ino)
	}
	// O_DIRECT cleared: a full lookup, without O_DIRECT's alignment.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_DIRECT); err != nil {
		t.Fatal(err)
	}
	if fi, err := look(fd); err != nil || fi.Ino != found.Ino || fi.Direct() || fi.MemAlign != 0 {
		t.Errorf("O_DIRECT cleared under the hint: %+v, %v; want a fresh lookup", fi, err)
	}
	// Another fd: the hint is not its.
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	if fi, err := look(p[0]); err != nil || fi.Seekable() || fi.Ino == hint.Ino {
		t.Errorf("a pipe under another fd's hint: %+v, %v", fi, err)
	}
	// Closed: EBADF, hint or not.
	unix.Close(p[1])
	hint.Fd = p[1]
	if _, err := look(p[1]); err != unix.EBADF {
		t.Errorf("closed fd under its hint: %v, want EBADF", err)
	}
}

// tempDirect is a new temporary file and a second fd of it opened with
// O_DIRECT, both closed when t ends; the test is skipped where the file
// system refuses O_DIRECT.
func tempDirect(t *testing.T) (*os.File, int) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "look")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fd, err := unix.Open(f.Name(), unix.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return f, fd
}

// TestRefusalWords: every reason has words, with its values in them and
// no formatting error, and ends with the errno's name.
func TestRefusalWords(t *testing.T) {
	for why := WhyErrno; why <= WhyDestroyed; why++ {
		r := Refuse(unix.EINVAL, why, 4097, 512)
		s := r.Error()
		if strings.Contains(s, "%!") || !strings.HasSuffix(s, " (EINVAL)") || len(s) < len("x (EINVAL)")+3 {
			t.Errorf("why %d: %q", why, s)
		}
		if strings.Contains(reasons[min(int(why), len(reasons)-1)], "%[1]") && !strings.Contains(s, "4097") && !strings.Contains(s, "0x1001") {
			t.Errorf("why %d: %q does not name the value", why, s)
		}
	}
	r := Refuse(unix.EINVAL, WhyDirectAddr, 0xc000123001, 4096)
	r.Vec = 2
	if got, want := r.Error(), "Iov[2]: O_DIRECT buffer address 0xc000123001 not aligned to 4096 bytes (EINVAL)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got, want := Reason(unix.EMFILE), "too many open files (EMFILE)"; got != want {
		t.Errorf("Reason(EMFILE) = %q, want %q", got, want)
	}
}

// TestLookFdPrivateHint: a Private hint (an fd whose owner never handed it
// out, so its flags cannot change) is taken whole, without a syscall: here
// for a number that is not even open, which any syscall would refuse.
func TestLookFdPrivateHint(t *testing.T) {
	_, fd := tempDirect(t)
	hint := lookedUp(t, fd)
	closed, err := unix.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(closed)
	hint.Fd, hint.Private = closed, true
	var fi FdInfo
	fi.Reset()
	fi.ResFd = 7
	fi.Hint = &hint
	if err := LookFd(closed, &fi); err != nil || fi.Ino != hint.Ino || fi.Flags != hint.Flags || fi.MemAlign != hint.MemAlign || fi.ResFd != 7 || fi.Hint != &hint || fi.Private {
		t.Fatalf("with a private hint: %+v, %v; want the hint's, with its own ResFd", fi, err)
	}
	// Not for another fd: that one is looked up (and is not open).
	fi.Reset()
	hint.Fd = fd
	if err := LookFd(closed, &fi); err != unix.EBADF {
		t.Fatalf("a private hint for fd %d used for fd %d: %v", fd, closed, err)
	}
}

// lookedUp is LookFd's answer for fd, as a hint is made.
func lookedUp(t *testing.T, fd int) FdInfo {
	t.Helper()
	var fi FdInfo
	fi.Reset()
	if err := LookFd(fd, &fi); err != nil {
		t.Fatal(err)
	}
	return fi
}
