//go:build linux

package kaio_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// FuzzSubmit submits one arbitrary iocb against real fds (a file, an
// O_DIRECT file, a pipe, a socket, an eventfd, fds that are closed or out
// of range) and checks: no panic, Submit refuses only with the documented
// errnos, and an accepted iocb yields exactly one event (with Cancel's help
// when it would otherwise wait forever), never a hang.
func FuzzSubmit(f *testing.F) {
	for op := uint16(0); op <= 9; op++ {
		f.Add(op, uint8(op%7), int64(0), uint16(4096), uint8(1), int32(0), uint32(0), uint8(0), false)
	}
	f.Add(uint16(0), uint8(1), int64(4096), uint16(4096), uint8(2), int32(0), uint32(0), uint8(0), true)
	f.Add(uint16(5), uint8(2), int64(0), uint16(0), uint8(0), int32(0), uint32(1), uint8(1), true)
	f.Add(uint16(1), uint8(0), int64(-5), uint16(7), uint8(3), int32(unix.RWF_NOWAIT), uint32(1), uint8(2), false)
	f.Add(uint16(8), uint8(3), int64(0), uint16(100), uint8(200), int32(unix.RWF_DSYNC), uint32(0), uint8(0), false)
	f.Add(uint16(0), uint8(0), int64(512), uint16(4096), uint8(0), int32(0), uint32(0), uint8(4), false) // a read into a registered buffer
	f.Add(uint16(1), uint8(0), int64(0), uint16(4096), uint8(0), int32(0), uint32(0), uint8(12), false)  // a write from a half-registered one
	f.Add(uint16(0), uint8(8), int64(0), uint16(4096), uint8(0), int32(0), uint32(2), uint8(16), false)  // a read of a registered file
	f.Add(uint16(1), uint8(2), int64(0), uint16(16), uint8(0), int32(0), uint32(3), uint8(17), true)     // a registered pipe, with an eventfd
	f.Add(uint16(0), uint8(0), int64(0), uint16(4096), uint8(0), int32(0), uint32(2), uint8(16), false)  // the empty slot

	dir := f.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, make([]byte, 1<<16), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op uint16, fdKind uint8, off int64, bufLen uint16, iovN uint8, rwflags int32, flags uint32, resKind uint8, cancel bool) {
		c, err := kaio.Setup(4, kaio.WithEngine(fuzzEngine))
		if err != nil {
			t.Skip(err)
		}
		defer c.Destroy()
		fd, cleanup := fuzzFd(t, file, fdKind)
		defer cleanup()
		io := &kaio.Iocb{Op: kaio.Op(op), Fd: fd, Offset: off, RWFlags: int(rwflags), Flags: flags, Events: uint32(bufLen)}
		if iovN == 0 {
			io.Buf = make([]byte, bufLen)
		} else {
			for i := 0; i < int(iovN); i++ {
				io.Iov = append(io.Iov, make([]byte, int(bufLen)/int(iovN)))
			}
			io.Buf = make([]byte, bufLen%512)
		}
		switch resKind % 3 {
		case 1:
			efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(efd)
			io.ResFd = efd
		case 2:
			io.ResFd = int(bufLen) - 10
		}
		// Registered buffers (READ_FIXED/WRITE_FIXED on uring): the
		// whole Buf, or only a part, which must not be used as fixed.
		if resKind&4 != 0 && len(io.Buf) > 0 {
			reg := io.Buf
			if resKind&8 != 0 {
				reg = reg[:len(reg)/2+1]
			}
			if err := c.RegisterBuffers(reg); err != nil && !errors.Is(err, unix.ENOMEM) {
				t.Fatalf("RegisterBuffers(%d bytes): %v", len(reg), err)
			}
		}
		// Registered files: with FlagFixedFile, Fd becomes an index into
		// [-1, fd], the empty slot or the file, or stays a number that
		// may be out of range.
		if flags&kaio.FlagFixedFile != 0 && resKind&16 != 0 {
			if err := c.RegisterFiles(-1, fd); err != nil && !errors.Is(err, unix.EBADF) {
				t.Fatalf("RegisterFiles(-1, %d): %v", fd, err)
			}
			io.Fd = int(fdKind>>3) % 3
		}
		n, err := c.Submit(io)
		if n == 0 {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EBADF) && !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("Submit(%+v) refused with %v: not a documented errno", io, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Submit accepted the iocb and returned %v", err)
		}
		evs := make([]kaio.Event, 2)
		got, _ := c.GetEvents(1, evs, 20*time.Millisecond)
		if got == 0 {
			if cancel || true {
				if err := c.Cancel(io); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EAGAIN) {
					t.Fatalf("Cancel: %v", err)
				}
			}
			got, _ = c.GetEvents(1, evs, 10*time.Second)
			if got == 0 {
				t.Fatalf("no event for an accepted iocb %+v after Cancel", io)
			}
		}
		if evs[0].Obj != io {
			t.Fatalf("event for another iocb: %+v", evs[0])
		}
		if extra, _ := c.GetEvents(0, evs[1:], 0); extra != 0 {
			t.Fatalf("two events for one iocb: %+v", evs)
		}
	})
}

// fuzzEngine lets the same fuzz target run on another engine
// (go test -fuzz FuzzSubmit with KAIO_FUZZ_ENGINE=uring).
var fuzzEngine = func() kaio.Engine {
	if e, err := kaio.ParseEngine(os.Getenv("KAIO_FUZZ_ENGINE")); err == nil && os.Getenv("KAIO_FUZZ_ENGINE") != "" {
		return e
	}
	return kaio.EngineRetry
}()

func fuzzFd(t *testing.T, file string, kind uint8) (int, func()) {
	switch kind % 8 {
	case 0, 1:
		f, err := os.OpenFile(file, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		return int(f.Fd()), func() { f.Close() }
	case 2:
		var p [2]int
		unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC)
		unix.Write(p[1], []byte("some data"))
		return p[0], func() { unix.Close(p[0]); unix.Close(p[1]) }
	case 3:
		s, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return s[0], func() { unix.Close(s[0]); unix.Close(s[1]) }
	case 4:
		efd, _ := unix.Eventfd(1, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		return efd, func() { unix.Close(efd) }
	case 5:
		f, err := os.OpenFile(file, os.O_RDWR|unix.O_DIRECT, 0)
		if err != nil {
			return -1, func() {}
		}
		return int(f.Fd()), func() { f.Close() }
	case 6:
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		return int(f.Fd()), func() { f.Close() }
	}
	return 1<<31 - 1, func() {}
}
