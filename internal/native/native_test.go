//go:build linux

package native

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/enginetest"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

var engine = enginetest.Engine{
	Name:  "Linux AIO",
	Setup: "io_setup",
	Probe: func() (bool, string) { st := Probe(); return st.Usable, st.Reason },
	New:   func(nr int) (core.Backend, error) { return New(nr) },
	// O_DIRECT reads are the only ones Linux AIO does asynchronously, so
	// the collector runs while the kernel writes into the buffers.
	DirectOnly: true,
}

// newCtx is enginetest's NewCtx for this package's own tests, which reach
// into the Context.
func newCtx(t testing.TB, nr int) *Context { return engine.NewCtx(t, nr).(*Context) }

func reapN(t testing.TB, c *Context, n int) []core.Event { return enginetest.ReapN(t, c, n) }

func pipe(t testing.TB) (int, int) { return enginetest.Pipe(t) }

// TestShared runs the tests both kernel engines share (see
// internal/enginetest).
func TestShared(t *testing.T) { enginetest.Shared(t, &engine) }

// TestGeteventsFallback runs I/O with the aio_ring treated as unreadable
// (a magic kaio does not know), so that completions come through
// io_getevents instead.
func TestGeteventsFallback(t *testing.T) {
	c := newCtx(t, 8)
	c.Mu.Lock()
	c.ring = linuxaio.Ring{} // not mapped: Reap uses io_getevents
	c.Mu.Unlock()
	name := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("kaio"), 4096)
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w := pipe(t)
	got := make([]byte, len(data))
	pbuf := make([]byte, 3)
	iocbs := []*core.Iocb{
		{Op: core.OpPRead, Fd: int(f.Fd()), Buf: got, Data: 1},
		{Op: core.OpPRead, Fd: r, Buf: pbuf, Data: 2},
		{Op: core.OpPoll, Fd: r, Events: unix.POLLIN, Data: 3},
		{Op: core.OpFSync, Fd: int(f.Fd()), Data: 4},
	}
	if n, err := c.Submit(iocbs); n != len(iocbs) {
		t.Fatal(err)
	}
	unix.Write(w, []byte("abc"))
	for _, ev := range reapN(t, c, len(iocbs)) {
		switch ev.Data {
		case 1:
			if ev.Res != int64(len(data)) || !bytes.Equal(got, data) {
				t.Fatalf("file read %+v", ev)
			}
		case 2:
			if ev.Res != 3 || string(pbuf) != "abc" {
				t.Fatalf("pipe read %+v %q", ev, pbuf)
			}
		case 3:
			if ev.Res&unix.POLLIN == 0 && ev.Res != 0 {
				t.Fatalf("poll %+v", ev)
			}
		}
	}
}

// TestCancelFileIOIsBusy: the kernel cannot cancel file I/O, so Cancel says
// EAGAIN while it runs (or EINVAL once it is done), and the event carries
// the real result.
func TestCancelFileIOIsBusy(t *testing.T) {
	c := newCtx(t, 4)
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT: %v", err)
	}
	defer f.Close()
	io := &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: enginetest.Aligned(8 << 20)}
	if n, err := c.Submit([]*core.Iocb{io}); n != 1 {
		t.Fatal(err)
	}
	if err := c.Cancel(io); !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Cancel of O_DIRECT read: %v, want EAGAIN or EINVAL", err)
	}
	if ev := reapN(t, c, 1)[0]; ev.Res != 8<<20 {
		t.Fatalf("event %+v, want the whole read", ev)
	}
}
