//go:build linux

package conformance

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

var concurrencyCases = []Case{
	{"Concurrent/ExactlyOnce", func(t *testing.T, e *Env) {
		// Submitters and reapers race; every accepted iocb yields exactly
		// one event, whatever its kind.
		const nr = 64
		c := e.Setup(nr)
		f := tempFile(t, pattern(1<<20, 3), 0)
		r, w := pipe(t)
		submitters, per := 4, 2000
		if testing.Short() {
			per = 300
		}
		total := submitters * per
		seen := make([]atomic.Int32, total)
		var reaped atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var rwg sync.WaitGroup
		for g := 0; g < 3; g++ {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				evs := make([]kaio.Event, 8)
				for {
					n, err := c.GetEvents(1, evs, 5*time.Millisecond)
					if err != nil {
						t.Errorf("GetEvents: %v", err)
						return
					}
					for _, ev := range evs[:n] {
						if ev.Obj == nil || ev.Data != ev.Obj.Data {
							t.Errorf("event %+v does not match its iocb", ev)
						}
						if ev.Res < 0 && !errors.Is(ev.Err(), unix.ECANCELED) {
							t.Errorf("event %+v failed", ev)
						}
						seen[ev.Data].Add(1)
					}
					if n > 0 && reaped.Add(int64(n)) == int64(total) {
						close(stop)
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		// A feeder keeps the pipe readers going.
		feed := make(chan struct{})
		go func() {
			for {
				select {
				case <-feed:
					return
				default:
					unix.Write(w, []byte{1, 2, 3, 4})
					time.Sleep(50 * time.Microsecond)
				}
			}
		}()
		for g := 0; g < submitters; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					id := g*per + i
					io := &kaio.Iocb{Data: uint64(id)}
					switch id % 5 {
					case 0:
						io.Op = kaio.OpNoop
					case 1, 2:
						io.Op, io.Fd, io.Buf, io.Offset = kaio.OpPRead, fd(f), make([]byte, 512), int64(id%2048)*512
					case 3:
						io.Op, io.Fd, io.Buf = kaio.OpPRead, r, make([]byte, 1)
					case 4:
						io.Op, io.Fd, io.Events = kaio.OpPoll, r, unix.POLLIN
					}
					for {
						n, err := c.Submit(io)
						if n == 1 {
							break
						}
						if !errors.Is(err, unix.EAGAIN) {
							t.Errorf("Submit: %v", err)
							return
						}
						time.Sleep(10 * time.Microsecond)
					}
					if id%11 == 0 {
						c.Cancel(io) // any answer; the event still comes once
					}
				}
			}(g)
		}
		wg.Wait()
		select {
		case <-stop:
		case <-time.After(60 * time.Second):
			close(feed)
			t.Fatalf("reaped %d of %d events", reaped.Load(), total)
		}
		close(feed)
		rwg.Wait()
		for id := range seen {
			if n := seen[id].Load(); n != 1 {
				t.Fatalf("iocb %d produced %d events", id, n)
			}
		}
		if s := c.Stats(); s.InFlight != 0 || s.Submitted != uint64(total) || s.Completed != uint64(total) {
			t.Fatalf("stats %+v, want %d submitted and completed", s, total)
		}
	}},
	{"Concurrent/CancelStorm", func(t *testing.T, e *Env) {
		const nr = 128
		c := e.Setup(nr)
		r, w := pipe(t)
		rounds := 20
		if testing.Short() {
			rounds = 5
		}
		for round := 0; round < rounds; round++ {
			iocbs := make([]*kaio.Iocb, nr)
			for i := range iocbs {
				iocbs[i] = &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1), Data: uint64(i)}
				if i%2 == 1 {
					iocbs[i] = &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN, Data: uint64(i)}
				}
			}
			submit(t, c, iocbs...)
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := g; i < nr; i += 4 {
						c.Cancel(iocbs[i])
					}
				}(g)
			}
			unix.Write(w, make([]byte, 16))
			wg.Wait()
			seen := make(map[uint64]int)
			for _, ev := range reap(t, c, nr) {
				seen[ev.Data]++
			}
			for i := 0; i < nr; i++ {
				if seen[uint64(i)] != 1 {
					t.Fatalf("round %d: iocb %d gave %d events", round, i, seen[uint64(i)])
				}
			}
			// Drain what the pipe still holds.
			buf := make([]byte, 64)
			for {
				if n, _ := unix.Read(r, buf); n <= 0 {
					break
				}
			}
		}
	}},
	{"Concurrent/DoAndSubmit", func(t *testing.T, e *Env) {
		c := e.Setup(16)
		f := tempFile(t, pattern(1<<16, 4), 0)
		var wg sync.WaitGroup
		n := 500
		if testing.Short() {
			n = 100
		}
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 4096)
				for i := 0; i < n; i++ {
					if ev := c.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, Offset: int64(i%16) * 4096}); ev.Res != 4096 {
						t.Errorf("Do: %+v", ev)
						return
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			submit(t, c, &kaio.Iocb{Op: kaio.OpNoop})
			reap(t, c, 1)
		}
		wg.Wait()
	}},
}
