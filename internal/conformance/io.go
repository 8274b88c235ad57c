//go:build linux

package conformance

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

var ioCases = []Case{
	{"IO/ReadWriteFile", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		f := tempFile(t, nil, 0)
		data := pattern(3*4096+17, 3)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: data, Offset: 100, Data: 1})
		ev := reap(t, c, 1)[0]
		if ev.Res != int64(len(data)) || ev.Data != 1 || ev.Err() != nil {
			t.Fatalf("write event %+v", ev)
		}
		got := make([]byte, len(data))
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: got, Offset: 100, Data: 2})
		ev = reap(t, c, 1)[0]
		if ev.Res != int64(len(data)) || ev.Data != 2 {
			t.Fatalf("read event %+v", ev)
		}
		sameBytes(t, "read back", got, data)
		st, _ := f.Stat()
		if st.Size() != int64(100+len(data)) {
			t.Fatalf("file size %d", st.Size())
		}
	}},
	{"IO/Vectored", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		f := tempFile(t, nil, 0)
		parts := [][]byte{pattern(10, 1), pattern(4096, 2), nil, pattern(333, 3)}
		var all []byte
		for _, p := range parts {
			all = append(all, p...)
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWritev, Fd: fd(f), Iov: parts, Offset: 7})
		if ev := reap(t, c, 1)[0]; ev.Res != int64(len(all)) {
			t.Fatalf("pwritev event %+v", ev)
		}
		back := [][]byte{make([]byte, 100), make([]byte, 1), make([]byte, len(all)-101)}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPReadv, Fd: fd(f), Iov: back, Offset: 7})
		if ev := reap(t, c, 1)[0]; ev.Res != int64(len(all)) {
			t.Fatalf("preadv event %+v", ev)
		}
		var got []byte
		for _, b := range back {
			got = append(got, b...)
		}
		sameBytes(t, "preadv", got, all)
	}},
	{"IO/ShortReadAtEOF", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		data := pattern(5000, 4)
		f := tempFile(t, data, 0)
		buf := make([]byte, 8192)
		past := make([]byte, 10)
		submit(t, c,
			&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, Data: 1},
			&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: past, Offset: 1 << 20, Data: 2},
			&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: nil, Data: 3})
		for _, ev := range reap(t, c, 3) {
			want := map[uint64]int64{1: 5000, 2: 0, 3: 0}[ev.Data]
			if ev.Res != want {
				t.Fatalf("read %d: res %d, want %d", ev.Data, ev.Res, want)
			}
		}
		sameBytes(t, "short read", buf[:5000], data)
	}},
	{"IO/LargeRead", func(t *testing.T, e *Env) {
		c := e.Setup(2)
		n := 24 << 20
		if testing.Short() {
			n = 4 << 20
		}
		data := pattern(n, 5)
		f := tempFile(t, data, 0)
		// Drop part of the file from the page cache so that the read is
		// partly cached, partly not (the "short read" of DESIGN §3).
		unix.Fadvise(fd(f), int64(n/2), 0, unix.FADV_DONTNEED)
		got := make([]byte, n)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: got})
		if ev := reap(t, c, 1)[0]; ev.Res != int64(n) {
			t.Fatalf("large read: %+v", ev)
		}
		sameBytes(t, "large read", got, data)
	}},
	{"IO/FsyncFdatasync", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		f := tempFile(t, pattern(100, 1), 0)
		submit(t, c, &kaio.Iocb{Op: kaio.OpFSync, Fd: fd(f), Data: 1}, &kaio.Iocb{Op: kaio.OpFDSync, Fd: fd(f), Data: 2})
		for _, ev := range reap(t, c, 2) {
			if ev.Res != 0 {
				t.Fatalf("sync event %+v", ev)
			}
		}
	}},
	{"IO/RWFlags", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		f := tempFile(t, []byte("head"), 0)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: []byte("-tail"), RWFlags: unix.RWF_APPEND | unix.RWF_DSYNC})
		if ev := reap(t, c, 1)[0]; ev.Res != 5 {
			if _, err := unix.Pwritev2(fd(f), nil, 0, 0); ev.Res == -int64(unix.EOPNOTSUPP) && err == unix.ENOSYS {
				t.Skipf("pwritev2 is %v here (Linux before 4.6, or an emulator): no RWF_* flags, and the write says %v", err, ev.Err())
			}
			t.Fatalf("append event %+v", ev)
		}
		got, _ := os.ReadFile(f.Name())
		if string(got) != "head-tail" {
			t.Fatalf("RWF_APPEND wrote %q", got)
		}
	}},
	{"IO/EventfdCounts", func(t *testing.T, e *Env) {
		eventfdsAgree(t)
		c := e.Setup(16)
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(efd)
		f := tempFile(t, pattern(4096, 1), 0)
		var iocbs []*kaio.Iocb
		for i := 0; i < 10; i++ {
			io := &kaio.Iocb{Op: kaio.OpNoop, Flags: kaio.FlagResFd, ResFd: efd}
			if i%2 == 1 {
				io.Op, io.Fd, io.Buf = kaio.OpPRead, fd(f), make([]byte, 100)
			}
			iocbs = append(iocbs, io)
		}
		iocbs = append(iocbs, &kaio.Iocb{Op: kaio.OpNoop}) // no eventfd
		submit(t, c, iocbs...)
		reap(t, c, len(iocbs))
		if n := eventfdSum(t, efd, 10); n != 10 {
			t.Fatalf("eventfd counted %d completions, want 10", n)
		}
		var b [8]byte
		if _, err := unix.Read(efd, b[:]); err != unix.EAGAIN {
			t.Fatalf("eventfd counted %d more after 10 completions (%v)", binary.NativeEndian.Uint64(b[:]), err)
		}
	}},
	{"IO/EventfdSignalsAfterEvent", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(efd)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1), Flags: kaio.FlagResFd, ResFd: efd})
		unix.Write(w, []byte{1})
		var b [8]byte
		unix.Read(efd, b[:]) // blocks until signalled
		// The event is visible once the eventfd says so.
		if n, _ := c.GetEvents(1, make([]kaio.Event, 1), 0); n != 1 {
			t.Fatal("eventfd signalled before the event was in the ring")
		}
	}},
	{"IO/Direct", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		f := directFile(t, 1<<20)
		w := alignedBuf(64<<10, 4096)
		copy(w, pattern(len(w), 77))
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: w, Offset: 128 << 10})
		if ev := reap(t, c, 1)[0]; ev.Res != int64(len(w)) {
			t.Fatalf("O_DIRECT write %+v", ev)
		}
		r := alignedBuf(64<<10, 4096)
		r2 := alignedBuf(8192, 4096)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: r, Offset: 128 << 10},
			&kaio.Iocb{Op: kaio.OpPReadv, Fd: fd(f), Iov: [][]byte{r2[:4096], r2[4096:]}, Offset: 128 << 10})
		reap(t, c, 2)
		sameBytes(t, "O_DIRECT read", r, w)
		sameBytes(t, "O_DIRECT readv", r2, w[:8192])
	}},
	{"IO/OffsetAbove4GiB", func(t *testing.T, e *Env) {
		// 32-bit Linux passes preadv2's offset in two registers; a sparse
		// file shows whether each path put the high half where it goes.
		c := e.Setup(4)
		f := tempFile(t, nil, 0)
		const off = 1<<32 + 8192
		data := pattern(4096, 5)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: data, Offset: off},
			&kaio.Iocb{Op: kaio.OpPWritev, Fd: fd(f), Iov: [][]byte{data[:100], data[100:]}, Offset: 2 * off})
		for _, ev := range reap(t, c, 2) {
			if ev.Res == -int64(unix.EFBIG) {
				t.Skipf("the file system here refuses offsets past 4 GiB: %v", ev.Err())
			}
			if ev.Res != int64(len(data)) {
				t.Fatalf("write past 4 GiB: %+v", ev)
			}
		}
		if st, err := f.Stat(); err != nil || st.Size() != 2*off+int64(len(data)) {
			t.Fatalf("file size after writes at %d and %d: %v, %v; want %d", int64(off), int64(2*off), st.Size(), err, 2*off+int64(len(data)))
		}
		for _, at := range []int64{off, 2 * off} {
			got := make([]byte, len(data))
			if n, err := unix.Pread(fd(f), got, at); n != len(got) || err != nil {
				t.Fatalf("pread at %d: %d, %v", at, n, err)
			}
			sameBytes(t, "written past 4 GiB", got, data)
			clear(got)
			submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: got, Offset: at})
			if ev := reap(t, c, 1)[0]; ev.Res != int64(len(got)) {
				t.Fatalf("read at %d: %+v", at, ev)
			}
			sameBytes(t, "read past 4 GiB", got, data)
		}
	}},
	{"IO/Noop", func(t *testing.T, e *Env) {
		c := e.Setup(2)
		io := &kaio.Iocb{Op: kaio.OpNoop, Data: 0xdeadbeef}
		submit(t, c, io)
		ev := reap(t, c, 1)[0]
		if ev.Res != 0 || ev.Data != 0xdeadbeef || ev.Obj != io || ev.Res2 != 0 {
			t.Fatalf("NOOP event %+v", ev)
		}
	}},
	{"Do/ReadWriteSync", func(t *testing.T, e *Env) {
		c := e.Setup(1)
		f := tempFile(t, nil, 0)
		// Fill the ring: Do uses no slot.
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		data := pattern(10000, 8)
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: data, Data: 5}); ev.Res != 10000 || ev.Data != 5 {
			t.Fatalf("Do(pwrite) = %+v", ev)
		}
		got := make([]byte, 10000)
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: got}); ev.Res != 10000 {
			t.Fatalf("Do(pread) = %+v", ev)
		}
		sameBytes(t, "Do read", got, data)
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpFSync, Fd: fd(f)}); ev.Res != 0 {
			t.Fatalf("Do(fsync) = %+v", ev)
		}
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpNoop}); ev.Res != 0 {
			t.Fatalf("Do(noop) = %+v", ev)
		}
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: -1, Buf: got}); ev.Res != -int64(unix.EBADF) {
			t.Fatalf("Do with a bad fd = %+v, want -EBADF", ev)
		}
		if ev := c.Do(&kaio.Iocb{Op: 42}); ev.Res != -int64(unix.EINVAL) {
			t.Fatalf("Do with a bad op = %+v, want -EINVAL", ev)
		}
		// Do on a pipe waits for data.
		r2, w2 := pipe(t)
		go func() { unix.Write(w2, []byte("xyz")) }()
		b := make([]byte, 3)
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: r2, Buf: b}); ev.Res < 1 {
			t.Fatalf("Do on a pipe = %+v", ev)
		}
		unix.Write(w, []byte{1})
		reap(t, c, 1)
	}},
}
