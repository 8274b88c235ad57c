//go:build linux

// Package enginetest holds the tests and benchmarks that the two kernel
// engines, uring and native, share word for word: the same scenario, the
// same assertions, run against each engine's Context from that engine's own
// test files (so that each keeps its test names and its goroutine-leak
// check). What only one engine has (its ABI layout, its probe's reasons,
// its fallbacks) stays in its package.
//
// The conformance suite (internal/conformance) checks what every engine
// must do through kaio's API; these are the kernel engines' own tests:
// slot accounting against rounded-up kernel rings, buffers in the kernel
// while the collector runs, waiters around the kernel waiter.
package enginetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Engine is a kernel engine as the shared tests see it.
type Engine struct {
	// Name says which kernel interface is not usable when a test skips
	// ("io_uring", "Linux AIO").
	Name string
	// Setup names the syscall New makes ("io_uring_setup", "io_setup").
	Setup string
	// Probe reports whether the engine works here and, if not, why.
	Probe func() (usable bool, reason string)
	// New makes a context with room for nr completions.
	New func(nr int) (core.Backend, error)
	// DirectOnly: the kernel does file reads asynchronously only with
	// O_DIRECT (Linux AIO); the tests use O_DIRECT files then, so that
	// reads are in flight in the kernel.
	DirectOnly bool
}

// NewCtx sets up a context, destroyed when t ends, or skips when the kernel
// refuses the engine here (ENOSYS, EPERM from seccomp or a sysctl, and the
// like).
func (e *Engine) NewCtx(t testing.TB, nr int) core.Backend {
	t.Helper()
	if ok, reason := e.Probe(); !ok {
		t.Skipf("%s not usable here: %s", e.Name, reason)
	}
	c, err := e.New(nr)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("%s: %v", e.Setup, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy() })
	return c
}

// ReapN reaps exactly n events from c, failing t if they do not come within
// ten seconds.
func ReapN(t testing.TB, c core.Backend, n int) []core.Event {
	t.Helper()
	evs := make([]core.Event, n)
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < n {
		k, err := c.GetEvents(context.Background(), 1, evs[got:], time.Until(deadline))
		if err != nil || k == 0 {
			t.Fatalf("GetEvents after %d of %d: %d, %v", got, n, k, err)
		}
		got += k
	}
	return evs
}

// Pipe returns the read and write ends of a non-blocking pipe, closed when
// t ends.
func Pipe(t testing.TB) (int, int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// Aligned returns n bytes at a 4096-byte boundary, for O_DIRECT.
func Aligned(n int) []byte {
	b := make([]byte, n+4096)
	off := int(4096 - core.BufAddr(b)%4096)
	return b[off : off+n : off+n]
}
