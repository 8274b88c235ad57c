//go:build linux

package conformance

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/cmdtest"
	"golang.org/x/sys/unix"
)

var cancelCases = []Case{
	{"Cancel/Waiting", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, _ := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1), Data: 3}
		poll := &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN, Data: 4}
		submit(t, c, io, poll)
		noEvent(t, c, 10*time.Millisecond)
		if err := c.Cancel(io); err != nil {
			t.Fatalf("Cancel of a waiting read: %v", err)
		}
		if err := c.Cancel(poll); err != nil {
			t.Fatalf("Cancel of a waiting poll: %v", err)
		}
		for _, ev := range reap(t, c, 2) {
			if !errors.Is(ev.Err(), unix.ECANCELED) {
				t.Fatalf("cancelled event %+v, want -ECANCELED", ev)
			}
		}
		if s := c.Stats(); s.Cancelled != 2 || s.InFlight != 0 {
			t.Fatalf("stats after cancel: %+v", s)
		}
	}},
	{"Cancel/AfterCompletion", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		io := &kaio.Iocb{Op: kaio.OpNoop}
		submit(t, c, io)
		reap(t, c, 1)
		if err := c.Cancel(io); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel after completion: %v, want EINVAL", err)
		}
		if err := c.Cancel(&kaio.Iocb{}); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel of an iocb never submitted: %v, want EINVAL", err)
		}
		if err := c.Cancel(nil); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel(nil): %v, want EINVAL", err)
		}
	}},
	{"Cancel/Twice", func(t *testing.T, e *Env) {
		// Second cancel: still in flight (nil) or already completed
		// (EINVAL); never EAGAIN, which says the request cannot be
		// cancelled now, for one whose -ECANCELED is on its way. Linux
		// AIO posts a cancelled poll's event from a workqueue, so the
		// second Cancel often comes before it: many rounds, so that a
		// late worker is met.
		c := e.Setup(4)
		r, _ := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}
		rounds := 200
		if testing.Short() {
			rounds = 50
		}
		for i := 0; i < rounds; i++ {
			submit(t, c, io)
			if err := c.Cancel(io); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if err := c.Cancel(io); err != nil && !errors.Is(err, unix.EINVAL) {
				t.Fatalf("round %d: second Cancel: %v", i, err)
			}
			if ev := reap(t, c, 1)[0]; !errors.Is(ev.Err(), unix.ECANCELED) {
				t.Fatalf("round %d: event %+v, want -ECANCELED", i, ev)
			}
		}
	}},
	{"Cancel/RacingCompletion", func(t *testing.T, e *Env) {
		// Cancel while the data arrives: exactly one event, either the
		// real result or -ECANCELED, and Cancel says nil, EINVAL or EAGAIN.
		c := e.Setup(64)
		rounds := 300
		if testing.Short() {
			rounds = 50
		}
		for i := 0; i < rounds; i++ {
			r, w := pipe(t)
			buf := make([]byte, 1)
			io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: buf}
			submit(t, c, io)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); unix.Write(w, []byte{1}) }()
			err := c.Cancel(io)
			wg.Wait()
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("Cancel racing completion: %v", err)
			}
			ev := reap(t, c, 1)[0]
			if ev.Res != 1 && !errors.Is(ev.Err(), unix.ECANCELED) {
				t.Fatalf("round %d: event %+v", i, ev)
			}
			if errors.Is(err, unix.EINVAL) && ev.Res != 1 {
				t.Fatalf("Cancel said not in flight, yet the event is %+v", ev)
			}
			unix.Close(r)
			unix.Close(w)
		}
	}},
	{"Cancel/Do", func(t *testing.T, e *Env) {
		c := e.Setup(1)
		r, _ := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}
		done := make(chan kaio.Event)
		go func() { done <- c.Do(io) }()
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := c.Cancel(io)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Cancel of a sync request never took: %v", err)
			}
			time.Sleep(time.Millisecond)
		}
		select {
		case ev := <-done:
			if !errors.Is(ev.Err(), unix.ECANCELED) {
				t.Fatalf("cancelled Do = %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("cancelled Do did not return")
		}
	}},
}

var destroyCases = []Case{
	{"Destroy/WithWorkInFlight", func(t *testing.T, e *Env) {
		c, err := kaio.Setup(32, e.Opts...)
		if err != nil {
			t.Fatal(err)
		}
		r, w := pipe(t)
		f := tempFile(t, pattern(1<<20, 1), 0)
		var iocbs []*kaio.Iocb
		for i := 0; i < 8; i++ {
			iocbs = append(iocbs, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 8)})
			iocbs = append(iocbs, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN})
			iocbs = append(iocbs, &kaio.Iocb{Op: kaio.OpFSync, Fd: fd(f)})
			iocbs = append(iocbs, &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: make([]byte, 4096), Offset: int64(i) * 4096})
		}
		submit(t, c, iocbs...)
		_ = w
		if err := c.Destroy(); err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		// Every later call says EINVAL.
		late := &kaio.Iocb{Op: kaio.OpNoop}
		if n, err := c.Submit(late); n != 0 || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Submit after Destroy: %d, %v", n, err)
		} else {
			refused(t, err, 0, late, "refused: context destroyed (EINVAL)")
		}
		if _, err := c.GetEvents(0, make([]kaio.Event, 1), 0); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("GetEvents after Destroy: %v", err)
		}
		if err := c.Cancel(iocbs[0]); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel after Destroy: %v", err)
		}
		if err := c.Destroy(); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("second Destroy: %v", err)
		}
		if ev := c.Do(&kaio.Iocb{Op: kaio.OpNoop}); !errors.Is(ev.Err(), unix.EINVAL) {
			t.Fatalf("Do after Destroy: %+v", ev)
		}
		// The iocbs are free again: another context takes them.
		c2 := e.Setup(64)
		submit(t, c2, iocbs[2])
		reap(t, c2, 1)
	}},
	{"Destroy/ManyWaiting", func(t *testing.T, e *Env) {
		c, err := kaio.Setup(512, e.Opts...)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := pipe(t)
		for i := 0; i < 256; i++ {
			submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN})
		}
		done := make(chan error, 1)
		go func() { done <- c.Destroy() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Destroy with 512 waiting requests did not return")
		}
	}},
	{"Destroy/ClosesItsFds", func(t *testing.T, e *Env) {
		r, w := pipe(t)
		f := tempFile(t, pattern(4096, 1), 0)
		before := cmdtest.OpenFds(t)
		c, err := kaio.Setup(16, e.Opts...)
		if err != nil {
			t.Fatal(err)
		}
		// Waits on the poller (which holds a duplicate of the fd),
		// offloaded work, and a completed read.
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)},
			&kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN},
			&kaio.Iocb{Op: kaio.OpFSync, Fd: fd(f)},
			&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: make([]byte, 4096)})
		unix.Write(w, []byte{1})
		if n, err := c.GetEvents(1, make([]kaio.Event, 8), 10*time.Second); n < 1 {
			t.Fatalf("no event: %v", err)
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		if after := cmdtest.OpenFds(t); after != before {
			t.Fatalf("%d fds open before Setup, %d after Destroy", before, after)
		}
	}},
	{"Destroy/WakesReapers", func(t *testing.T, e *Env) {
		c, err := kaio.Setup(4, e.Opts...)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)})
		got := make(chan error, 1)
		go func() {
			_, err := c.GetEvents(1, make([]kaio.Event, 1), -1)
			got <- err
		}()
		time.Sleep(20 * time.Millisecond)
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err == nil {
				// It may have reaped the cancelled event before the
				// context died; both are fine, but it must return.
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a reaper sleeping in GetEvents was not released by Destroy")
		}
	}},
	{"Destroy/UnderLoad", func(t *testing.T, e *Env) {
		rounds := 20
		if testing.Short() {
			rounds = 5
		}
		f := tempFile(t, pattern(1<<20, 2), 0)
		for round := 0; round < rounds; round++ {
			c, err := kaio.Setup(64, e.Opts...)
			if err != nil {
				t.Fatal(err)
			}
			r, w := pipe(t)
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for g := 0; g < 3; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					buf := make([]byte, 4096)
					evs := make([]kaio.Event, 16)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						io := &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, Offset: int64(i%256) * 4096}
						switch i % 3 {
						case 1:
							io = &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}
						case 2:
							io = &kaio.Iocb{Op: kaio.OpNoop}
						}
						if _, err := c.Submit(io); errors.Is(err, unix.EINVAL) {
							return // destroyed
						}
						if _, err := c.GetEvents(0, evs, 0); errors.Is(err, unix.EINVAL) {
							return
						}
						if i%7 == 0 {
							unix.Write(w, []byte{1})
						}
					}
				}(g)
			}
			time.Sleep(5 * time.Millisecond)
			if err := c.Destroy(); err != nil {
				t.Fatal(err)
			}
			close(stop)
			wg.Wait()
		}
	}},
}
