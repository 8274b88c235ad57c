//go:build linux

package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// ownCases check DESIGN §2's file-reference rule: a request acts on the
// file its Fd named at Submit, and signals the eventfd its ResFd named,
// whatever the caller does with those numbers afterwards. Each case puts
// another file on the number right after Submit, with dup3, which is what
// close followed by open does when the number is the lowest free one.
var ownCases = []Case{
	{"Own/WritesAfterFdReused", func(t *testing.T, e *Env) { ownWrites(t, e, 0) }},
	{"Own/DirectWritesAfterFdReused", func(t *testing.T, e *Env) { ownWrites(t, e, unix.O_DIRECT) }},
	{"Own/ReadsAfterFdReused", func(t *testing.T, e *Env) {
		const n, size = 64, 256 << 10
		c := e.Setup(n)
		a := pattern(n*size, 11)
		fa := openNumber(t, writeTemp(t, "a", a), unix.O_RDONLY)
		fb := openNumber(t, writeTemp(t, "b", pattern(n*size, 99)), unix.O_RDONLY)
		bufs := make([][]byte, n)
		iocbs := make([]*kaio.Iocb, n)
		for i := range iocbs {
			bufs[i] = make([]byte, size)
			iocbs[i] = &kaio.Iocb{Op: kaio.OpPRead, Fd: fa, Buf: bufs[i], Offset: int64(i * size), Data: uint64(i)}
		}
		dropCache(t, fa)
		submit(t, c, iocbs...)
		reuse(t, fb, fa)
		for _, ev := range reap(t, c, n) {
			if ev.Res != size {
				t.Fatalf("read %d: %+v", ev.Data, ev)
			}
		}
		for i, b := range bufs {
			sameBytes(t, "read of the submitted file", b, a[i*size:(i+1)*size])
		}
	}},
	{"Own/PipeReadAfterFdReused", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r, w := p[0], p[1]
		t.Cleanup(func() { unix.Close(w) })
		secret := openNumber(t, writeTemp(t, "secret", []byte("secret file contents")), unix.O_RDONLY)
		buf := make([]byte, 64)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: buf})
		noEvent(t, c, 10*time.Millisecond)
		reuse(t, secret, r) // the pipe's read end is now held only by the request
		if _, err := unix.Write(w, []byte("from the pipe")); err != nil {
			t.Fatalf("write to the pipe after its read end was closed: %v", err)
		}
		ev := reap(t, c, 1)[0]
		if ev.Res != int64(len("from the pipe")) || string(buf[:ev.Res]) != "from the pipe" {
			t.Fatalf("pipe read after its fd was reused: %+v %q", ev, buf[:max(ev.Res, 0)])
		}
	}},
	{"Own/ResFdAfterReused", func(t *testing.T, e *Env) {
		eventfdsAgree(t)
		c := e.Setup(4)
		rp, w := pipe(t)
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		watch, err := unix.Dup(efd) // the test's own view of the eventfd
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(watch) })
		name := writeTemp(t, "victim", nil)
		victim := openNumber(t, name, unix.O_RDWR)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: rp, Buf: make([]byte, 1), Flags: kaio.FlagResFd, ResFd: efd})
		reuse(t, victim, efd)
		unix.Write(w, []byte{1})
		reap(t, c, 1)
		n := eventfdSum(t, watch, 1)
		if st, err := os.Stat(name); err != nil || st.Size() != 0 {
			t.Fatalf("a file that took the eventfd's number was written: size %d, %v", st.Size(), err)
		}
		if n != 1 {
			t.Fatalf("the submitted eventfd counted %d; want one signal", n)
		}
	}},
}

// ownWrites submits 64 writes of 1 MiB to file A and puts file B on A's fd
// number right away: every byte must land in A, none in B.
func ownWrites(t *testing.T, e *Env, flag int) {
	const n, size = 64, 1 << 20
	c := e.Setup(n)
	nameA := writeTemp(t, "a", nil)
	fa := openNumber(t, nameA, unix.O_RDWR|flag)
	nameB := writeTemp(t, "b", nil)
	fb := openNumber(t, nameB, unix.O_RDWR)
	data := alignedBuf(n*size, 4096)
	copy(data, pattern(len(data), 5))
	iocbs := make([]*kaio.Iocb, n)
	for i := range iocbs {
		iocbs[i] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: fa, Buf: data[i*size : (i+1)*size], Offset: int64(i * size), Data: uint64(i)}
	}
	submit(t, c, iocbs...)
	reuse(t, fb, fa)
	for _, ev := range reap(t, c, n) {
		if ev.Res != size {
			t.Fatalf("write %d: %+v", ev.Data, ev)
		}
	}
	if st, _ := os.Stat(nameB); st.Size() != 0 {
		t.Fatalf("%d bytes landed in the file that took the fd's number", st.Size())
	}
	got, err := os.ReadFile(nameA)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "the submitted file", got, data)
}

// writeTemp writes data to a new file called name in a temporary directory
// and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openNumber opens name and returns the raw fd number; the test closes it.
func openNumber(t *testing.T, name string, flag int) int {
	t.Helper()
	fd, err := unix.Open(name, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		if flag&unix.O_DIRECT != 0 {
			t.Skipf("O_DIRECT not supported here: %v", err)
		}
		t.Fatal(err)
	}
	return fd
}

// reuse closes fd and makes its number refer to other's file, in one step
// (dup3), then closes other: what close(fd) and an open that gets the same
// number do.
func reuse(t *testing.T, other, fd int) {
	t.Helper()
	if err := unix.Dup3(other, fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(other)
	t.Cleanup(func() { unix.Close(fd) })
}

// dropCache asks the kernel to drop fd's cached pages, so that reads of it
// cannot all finish inside Submit.
func dropCache(t *testing.T, fd int) {
	t.Helper()
	unix.Fsync(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
}
