package conformance

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// deliverCases check DESIGN §2's delivery rule, exactly one event per
// accepted iocb, where users race the engine: Cancel against Submit,
// Destroy against submitters, cancellers and reapers; and the smaller
// promises around it.
var deliverCases = []Case{
	{"IO/NowaitDirectOverDirtyRange", func(t *testing.T, e *Env) {
		// RWF_NOWAIT is the caller's on O_DIRECT too: over a dirty
		// page-cached range the kernel answers -EAGAIN, as a plain
		// preadv2 or pwritev2 does, instead of writing the range back.
		c := e.Setup(4)
		f := tempFile(t, make([]byte, 1<<20), 0)
		if _, err := f.WriteAt(pattern(64<<10, 3), 0); err != nil { // dirty, not written back
			t.Fatal(err)
		}
		d, err := os.OpenFile(f.Name(), os.O_RDWR|unix.O_DIRECT, 0)
		if err != nil {
			t.Skipf("O_DIRECT not supported here: %v", err)
		}
		defer d.Close()
		buf := alignedBuf(4096, 4096)
		iov := [][]byte{buf}
		var want [2]unix.Errno
		if _, err := unix.Preadv2(fd(d), iov, 0, unix.RWF_NOWAIT); err != unix.EAGAIN {
			t.Skipf("this kernel's preadv2(RWF_NOWAIT) over a dirty range on O_DIRECT says %v, not EAGAIN", err)
		}
		want[0] = unix.EAGAIN
		if _, err := unix.Pwritev2(fd(d), iov, 4096, unix.RWF_NOWAIT); err == unix.EAGAIN {
			want[1] = unix.EAGAIN
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(d), Buf: buf, RWFlags: unix.RWF_NOWAIT, Data: 0},
			&kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(d), Buf: buf, Offset: 4096, RWFlags: unix.RWF_NOWAIT, Data: 1})
		for _, ev := range reap(t, c, 2) {
			if w := want[ev.Data]; w != 0 && !errors.Is(ev.Err(), w) {
				t.Errorf("O_DIRECT %s with RWF_NOWAIT over a dirty range: %+v, want -%v as the kernel gives", [2]string{"read", "write"}[ev.Data], ev, w)
			}
		}
	}},
	{"Submit/CopyOfInFlightIocb", func(t *testing.T, e *Env) {
		// A copy of an iocb is another iocb: its claim must not travel
		// with it. The copy is accepted while the original is in flight,
		// Cancel of a copy that was never submitted does not reach the
		// original, and both end with their own event.
		c := e.Setup(4)
		r, w := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1), Data: 1}
		submit(t, c, io)
		idle := *io
		if err := c.Cancel(&idle); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel of a copy never submitted: %v, want EINVAL", err)
		}
		cp := *io
		cp.Buf, cp.Data = make([]byte, 1), 2
		submit(t, c, &cp)
		unix.Write(w, []byte{7, 8})
		got := map[uint64]int64{}
		for _, ev := range reap(t, c, 2) {
			got[ev.Data] = ev.Res
		}
		if got[1] != 1 || got[2] != 1 {
			t.Fatalf("events of the iocb and its copy: %v, want one byte each", got)
		}
		submit(t, c, &idle) // and the one copied before, now the original is done
		unix.Write(w, []byte{9})
		reap(t, c, 1)
	}},
	{"Destroy/ReapersGetEINVAL", func(t *testing.T, e *Env) {
		// A GetEvents asleep when Destroy starts returns 0 and EINVAL,
		// every time: events not reaped when Destroy starts are dropped,
		// including the cancellations Destroy itself posts and those in
		// the ring short of the reaper's minimum.
		rounds := 20
		if testing.Short() {
			rounds = 5
		}
		for round := 0; round < rounds; round++ {
			c, err := kaio.Setup(8, e.Opts...)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := pipe(t)
			submit(t, c, &kaio.Iocb{Op: kaio.OpNoop}, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)},
				&kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN})
			type result struct {
				n   int
				err error
			}
			got := make(chan result, 2)
			for _, min := range []int{2, 3} {
				go func() {
					n, err := c.GetEvents(min, make([]kaio.Event, 4), -1)
					got <- result{n, err}
				}()
			}
			time.Sleep(2 * time.Millisecond)
			if err := c.Destroy(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				select {
				case res := <-got:
					if res.n != 0 || !errors.Is(res.err, unix.EINVAL) {
						t.Fatalf("round %d: a reaper asleep during Destroy got %d events, %v; want 0, EINVAL", round, res.n, res.err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("round %d: Destroy did not wake a reaper", round)
				}
			}
		}
	}},
}
