//go:build linux

package kaio_test

import (
	"errors"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// TestCancelAllocatesNothing: a Submit, Cancel and GetEvents of a read
// that waits (an empty pipe) allocates nothing in steady state, on every
// engine. (native's io_cancel went through a func variable, so its event
// buffer escaped: one allocation per Cancel.)
func TestCancelAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates for its own bookkeeping; CI checks allocations in its build without -race")
	}
	onEachEngine(t, 4, func(t *testing.T, c *kaio.Context) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: p[0], Buf: make([]byte, 1)}
		evs := make([]kaio.Event, 1)
		var failed error
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := c.Submit(io); err != nil {
				failed = err
				return
			}
			if err := c.Cancel(io); err != nil {
				failed = err
			}
			if n, err := c.GetEvents(1, evs, -1); n != 1 || err != nil || !errors.Is(evs[0].Err(), unix.ECANCELED) {
				failed = errors.Join(failed, err, evs[0].Err())
			}
		})
		if failed != nil {
			t.Fatalf("submit, cancel, reap: %v", failed)
		}
		if allocs != 0 {
			t.Errorf("%v allocations per submit, cancel and reap, want 0", allocs)
		}
	})
}
