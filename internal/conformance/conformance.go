//go:build linux

// Package conformance is one suite that checks every semantic bullet of
// DESIGN §2 against an engine given as a parameter. Every engine runs it
// unchanged (the root package's conformance tests), as gVisor's pkg/aio
// runs one testQueue against each of its queues.
//
// Each case sets up its own context, destroys it, and checks that no
// goroutine outlives it.
package conformance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Case is one named check.
type Case struct {
	Name string
	F    func(t *testing.T, e *Env)
}

// Env is what a case gets: the options that select the engine, and helpers.
type Env struct {
	Opts []kaio.Option
	t    *testing.T
	ctxs []*kaio.Context
}

// Setup makes a context on the engine under test, destroyed at the end of
// the case (a case may destroy it itself).
func (e *Env) Setup(nr int) *kaio.Context {
	e.t.Helper()
	c, err := kaio.Setup(nr, e.Opts...)
	if err != nil {
		e.t.Fatalf("Setup(%d): %v", nr, err)
	}
	e.ctxs = append(e.ctxs, c)
	return c
}

// Cases returns the whole suite.
func Cases() []Case {
	var all []Case
	for _, g := range [][]Case{setupCases, submitCases, getEventsCases, ioCases, streamCases, cancelCases, destroyCases, concurrencyCases, regBufCases, filesCases, ownCases, deliverCases} {
		all = append(all, g...)
	}
	return all
}

// Run runs every case against the engine that opts select.
func Run(t *testing.T, opts ...kaio.Option) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			e := &Env{Opts: opts, t: t}
			// Deferred, so that a case that skips (or fails) after Setup
			// still destroys its contexts: t.Skip ends it with Goexit.
			defer func() {
				for _, ctx := range e.ctxs {
					if err := ctx.Destroy(); err != nil && !errors.Is(err, unix.EINVAL) {
						t.Errorf("Destroy: %v", err)
					}
				}
				goleak.VerifyNone(t, leaks)
			}()
			c.F(t, e)
		})
	}
}

// --- helpers shared by the cases ---

func submit(t *testing.T, c *kaio.Context, iocbs ...*kaio.Iocb) {
	t.Helper()
	n, err := c.Submit(iocbs...)
	if err != nil || n != len(iocbs) {
		t.Fatalf("Submit: %d, %v; want %d, nil", n, err, len(iocbs))
	}
}

// wantErrno fails unless err is errno (errors.Is); what names the call.
func wantErrno(t *testing.T, what string, err, errno error) {
	t.Helper()
	if !errors.Is(err, errno) {
		t.Fatalf("%s: %v, want %v", what, err, errno)
	}
}

// reap waits (up to 10 s) for exactly n events and fails on more.
func reap(t *testing.T, c *kaio.Context, n int) []kaio.Event {
	t.Helper()
	evs := make([]kaio.Event, n+1)
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < n {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("reaped %d events in 10s, want %d", got, n)
		}
		k, err := c.GetEvents(1, evs[got:n], left)
		if err != nil {
			t.Fatalf("GetEvents: %v", err)
		}
		got += k
	}
	if k, _ := c.GetEvents(0, evs[n:], 0); k != 0 {
		t.Fatalf("an extra event: %+v", evs[n])
	}
	return evs[:n]
}

// noEvent checks that nothing completes within d.
func noEvent(t *testing.T, c *kaio.Context, d time.Duration) {
	t.Helper()
	var ev [1]kaio.Event
	if n, err := c.GetEvents(1, ev[:], d); n != 0 || err != nil {
		t.Fatalf("unexpected event %+v (n=%d err=%v)", ev[0], n, err)
	}
}

func tempFile(t *testing.T, data []byte, flag int) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed + byte(i>>12)
	}
	return b
}

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

func fd(f *os.File) int { return int(f.Fd()) }

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: data differ at byte %d (len %d vs %d)", what, i, len(got), len(want))
	}
}

// eventfdsAgree skips t where an eventfd written through a duplicate made
// with fcntl(F_DUPFD_CLOEXEC), as the engines make one for every eventfd
// they signal, does not count what the same bytes count through the
// eventfd's own fd. qemu-user (Debian 12's 7.2) running a big-endian
// program byte-swaps eventfd values per fd number, and a duplicate made
// that way is not swapped: the program's 1 arrives as 1<<56. A kernel
// never does this.
// eventfdSum reads the non-blocking eventfd efd until the counts read add
// up to want, or ten seconds pass, and returns their sum. An engine, like
// the kernel's aio_complete, signals a request's eventfd after its event is
// in the ring and the ring's lock is released, so a reaper can hold the
// event before the signal lands.
func eventfdSum(t *testing.T, efd int, want uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var sum uint64
	for sum < want {
		var b [8]byte
		n, err := unix.Read(efd, b[:])
		switch {
		case err == unix.EAGAIN && time.Now().After(deadline):
			return sum
		case err == unix.EAGAIN:
			unix.Poll([]unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}, 100)
		case err != nil || n != 8:
			t.Fatalf("read of the eventfd: %d bytes, %v", n, err)
		default:
			sum += binary.NativeEndian.Uint64(b[:])
		}
	}
	return sum
}

func eventfdsAgree(t *testing.T) {
	t.Helper()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	dup, err := unix.FcntlInt(uintptr(efd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	if _, err := unix.Write(dup, b[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Read(efd, b[:]); err != nil {
		t.Fatal(err)
	}
	if n := binary.NativeEndian.Uint64(b[:]); n != 1 {
		t.Skipf("an eventfd counts %d for 1 written through a duplicate of its fd: an emulator (qemu-user) swapping bytes per fd, not a kernel", n)
	}
}
