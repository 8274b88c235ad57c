//go:build linux

package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

var getEventsCases = []Case{
	{"GetEvents/BadMinNr", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		evs := make([]kaio.Event, 2)
		for _, min := range []int{-1, 3} {
			if n, err := c.GetEvents(min, evs, 0); n != 0 || !errors.Is(err, unix.EINVAL) {
				t.Errorf("GetEvents(min=%d, len 2) = %d, %v; want EINVAL", min, n, err)
			}
		}
		if n, err := c.GetEventsContext(context.Background(), 3, evs); n != 0 || !errors.Is(err, unix.EINVAL) {
			t.Errorf("GetEventsContext(min=3, len 2) = %d, %v; want EINVAL", n, err)
		}
	}},
	{"GetEvents/ZeroTimeoutNeverSleeps", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, _ := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		start := time.Now()
		n, err := c.GetEvents(1, make([]kaio.Event, 1), 0)
		if n != 0 || err != nil {
			t.Fatalf("GetEvents(timeout 0) = %d, %v", n, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("GetEvents with timeout 0 slept %v", d)
		}
	}},
	{"GetEvents/TimeoutReturnsFewer", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, _ := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpNoop}, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		start := time.Now()
		evs := make([]kaio.Event, 2)
		n, err := c.GetEvents(2, evs, 50*time.Millisecond)
		if n != 1 || err != nil {
			t.Fatalf("GetEvents(min 2, one ready, 50ms) = %d, %v; want 1, nil", n, err)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Fatalf("returned after %v, before the timeout", d)
		}
		if evs[0].Obj.Op != kaio.OpNoop {
			t.Fatalf("event %+v, want the NOOP", evs[0])
		}
	}},
	{"GetEvents/MinZeroReturnsAvailable", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		submit(t, c, &kaio.Iocb{Op: kaio.OpNoop}, &kaio.Iocb{Op: kaio.OpNoop})
		evs := make([]kaio.Event, 4)
		got := 0
		for deadline := time.Now().Add(5 * time.Second); got < 2 && time.Now().Before(deadline); {
			n, err := c.GetEvents(0, evs[got:], 0)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
		if got != 2 {
			t.Fatalf("got %d events, want 2", got)
		}
	}},
	{"GetEvents/MaxBoundsCopy", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		for i := 0; i < 5; i++ {
			submit(t, c, &kaio.Iocb{Op: kaio.OpNoop, Data: uint64(i)})
		}
		evs := make([]kaio.Event, 3)
		n, err := c.GetEvents(3, evs, 5*time.Second)
		if n != 3 || err != nil {
			t.Fatalf("GetEvents(3, len 3) = %d, %v", n, err)
		}
		reap(t, c, 2)
	}},
	{"GetEvents/ForeverWaitsForEvent", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		buf := make([]byte, 4)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: buf, Data: 42})
		go func() {
			time.Sleep(30 * time.Millisecond)
			unix.Write(w, []byte("ping"))
		}()
		evs := make([]kaio.Event, 1)
		n, err := c.GetEvents(1, evs, -1)
		if n != 1 || err != nil || evs[0].Data != 42 || evs[0].Res != 4 || string(buf) != "ping" {
			t.Fatalf("GetEvents(forever) = %d, %v, %+v, %q", n, err, evs[0], buf)
		}
	}},
	{"GetEvents/ContextCancel", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, _ := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		n, err := c.GetEventsContext(ctx, 1, make([]kaio.Event, 1))
		if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GetEventsContext with nothing ready: %d, %v; want 0, DeadlineExceeded", n, err)
		}
		ctx2, cancel2 := context.WithCancel(context.Background())
		cancel2()
		if n, err := c.GetEventsContext(ctx2, 1, make([]kaio.Event, 1)); n != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("GetEventsContext on a cancelled context: %d, %v", n, err)
		}
	}},
	{"GetEvents/ContextReturnsWhatItHas", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, _ := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpNoop}, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		n, err := c.GetEventsContext(ctx, 2, make([]kaio.Event, 2))
		if n != 1 || err != nil {
			t.Fatalf("GetEventsContext(min 2, one ready) = %d, %v; want 1, nil", n, err)
		}
	}},
	{"GetEvents/ContextWaitsForEvent", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		go func() {
			time.Sleep(20 * time.Millisecond)
			unix.Write(w, []byte{7})
		}()
		n, err := c.GetEventsContext(context.Background(), 1, make([]kaio.Event, 1))
		if n != 1 || err != nil {
			t.Fatalf("GetEventsContext = %d, %v", n, err)
		}
	}},
}
