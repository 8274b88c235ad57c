//go:build linux

package uring

import (
	"context"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/enginetest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

var engine = enginetest.Engine{
	Name:  "io_uring",
	Setup: "io_uring_setup",
	Probe: func() (bool, string) { st := Probe(); return st.Usable, st.Reason },
	New:   func(nr int) (core.Backend, error) { return New(nr) },
}

// newCtx is enginetest's NewCtx for this package's own tests, which reach
// into the Context.
func newCtx(t testing.TB, nr int) *Context { return engine.NewCtx(t, nr).(*Context) }

func pipe(t testing.TB) (int, int) { return enginetest.Pipe(t) }

// TestShared runs the tests both kernel engines share (see
// internal/enginetest).
func TestShared(t *testing.T) { enginetest.Shared(t, &engine) }

// TestTimeoutWithoutExtArg: on kernels before 5.11 io_uring_enter takes no
// timeout and kaio waits in poll(2) on the ring fd; played here by turning
// EXT_ARG off.
func TestTimeoutWithoutExtArg(t *testing.T) {
	c := newCtx(t, 4)
	c.extArg = false
	r, w := pipe(t)
	c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: r, Buf: make([]byte, 1)}})
	start := time.Now()
	evs := make([]core.Event, 1)
	if n, err := c.GetEvents(context.Background(), 1, evs, 30*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("GetEvents with nothing ready: %d, %v", n, err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		unix.Write(w, []byte{1})
	}()
	if n, err := c.GetEvents(context.Background(), 1, evs, 5*time.Second); n != 1 || err != nil || evs[0].Res != 1 {
		t.Fatalf("GetEvents: %d, %v, %+v", n, err, evs[0])
	}
}
