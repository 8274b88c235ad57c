//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/cmdtest"
	"golang.org/x/sys/unix"
)

// deliverCases check DESIGN §2's delivery rule, exactly one event per
// accepted iocb, where users race the engine: Cancel against Submit,
// Destroy against submitters, cancellers and reapers; and the smaller
// promises around it.
var deliverCases = []Case{
	{"Stress/CancelRacingSubmit", func(t *testing.T, e *Env) {
		// Pipe reads that never get data, submitted one at a time; a
		// canceller calls Cancel on each from before Submit is called
		// until it says nil. Each must end in exactly one -ECANCELED.
		n := 10000
		if testing.Short() {
			n = 1000
		}
		c := e.Setup(256)
		r, _ := pipe(t)
		// Two spinning goroutines must not starve the one that waits in
		// the kernel for completions: give the OS more threads to run.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.NumCPU()+2)))
		var cur atomic.Pointer[kaio.Iocb]
		took := make(chan struct{}, 1) // Cancel said nil (or failed) for cur
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var cancelErr atomic.Value
		wg.Add(1)
		go func() { // the canceller
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				io := cur.Load()
				if io == nil {
					runtime.Gosched()
					continue
				}
				switch err := c.Cancel(io); {
				case err == nil:
					cur.Store(nil)
					took <- struct{}{}
				case !errors.Is(err, unix.EINVAL):
					cancelErr.Store(fmt.Errorf("cancel of a waiting pipe read: %v", err))
					cur.Store(nil)
					took <- struct{}{}
				}
			}
		}()
		seen := make([]uint8, n)
		reaped := make(chan error, 1)
		go func() { // the reaper
			evs := make([]kaio.Event, 64)
			got := 0
			last := time.Now()
			for got < n {
				k, err := c.GetEvents(1, evs, 100*time.Millisecond)
				if err != nil {
					reaped <- err
					return
				}
				if k > 0 {
					last = time.Now()
				} else if time.Since(last) > 10*time.Second {
					reaped <- fmt.Errorf("events stopped at %d of %d: %+v", got, n, c.Stats())
					return
				}
				for _, ev := range evs[:k] {
					if !errors.Is(ev.Err(), unix.ECANCELED) {
						reaped <- fmt.Errorf("iocb %d: event %+v, want -ECANCELED", ev.Data, ev)
						return
					}
					if seen[ev.Data]++; seen[ev.Data] > 1 {
						reaped <- fmt.Errorf("iocb %d: two events", ev.Data)
						return
					}
				}
				got += k
			}
			reaped <- nil
		}()
		defer func() { close(stop); wg.Wait() }()
		for i := 0; i < n; i++ {
			io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1), Data: uint64(i)}
			cur.Store(io)
			for {
				k, err := c.Submit(io)
				if k == 1 {
					break
				}
				if !errors.Is(err, unix.EAGAIN) {
					t.Fatalf("Submit %d: %v", i, err)
				}
				runtime.Gosched() // the ring is full until the reaper catches up
			}
			// Spin (the canceller runs alongside, on another P, which is
			// what makes its Cancel land inside Submit), then block.
			for spin := 0; spin < 1000 && cur.Load() == io; spin++ {
				runtime.Gosched()
			}
			select {
			case <-took:
			case <-time.After(10 * time.Second):
				t.Fatalf("iocb %d: Cancel never said nil: %+v", i, c.Stats())
			}
		}
		if err := <-reaped; err != nil {
			t.Fatal(err)
		}
		if err, _ := cancelErr.Load().(error); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); s.InFlight != 0 || s.Completed != uint64(n) || s.Cancelled != uint64(n) {
			t.Fatalf("stats after the storm: %+v", s)
		}
	}},
	{"Stress/DestroyUnderLoad", func(t *testing.T, e *Env) {
		// Submitters, a canceller and reapers (one asleep with no
		// timeout) race Destroy. Destroy returns and wakes every reaper;
		// every accepted iocb ended once (Completed == Submitted, and no
		// event reaped twice).
		destroyUnderLoadRounds(t, e, 300, false)
	}},
	{"Stress/DestroyRacingWakeups", func(t *testing.T, e *Env) {
		rounds := 300
		if testing.Short() {
			rounds = 30
		}
		for round := 0; round < rounds; round++ {
			destroyRacingWakeups(t, e, round)
		}
	}},
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
	{"Poll/ResultIsTheEventsAsked", func(t *testing.T, e *Env) {
		// Every engine answers a poll with the events asked for that
		// are ready, plus POLLERR and POLLHUP, as poll(2) does: a pipe
		// woken by a write gives POLLIN, not POLLIN|POLLRDNORM.
		c := e.Setup(4)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN, Data: 1})
		noEvent(t, c, 10*time.Millisecond)
		unix.Write(w, []byte{1})
		if ev := reap(t, c, 1)[0]; ev.Res != unix.POLLIN {
			t.Fatalf("poll woken by a write: revents %#x, want POLLIN (%#x)", ev.Res, unix.POLLIN)
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN, Data: 2},
			&kaio.Iocb{Op: kaio.OpPoll, Fd: w, Events: unix.POLLOUT | unix.POLLIN, Data: 3})
		for _, ev := range reap(t, c, 2) {
			want := map[uint64]int64{2: unix.POLLIN, 3: unix.POLLOUT}[ev.Data]
			if ev.Res != want {
				t.Fatalf("poll %d, ready at submission: revents %#x, want %#x", ev.Data, ev.Res, want)
			}
		}
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
	{"Stream/BlockingFdRefusingNowait", func(t *testing.T, e *Env) {
		// Two reads of a blocking inotify fd, which refuses RWF_NOWAIT
		// (EOPNOTSUPP on Linux 6.18), and one event: one read gets it,
		// the other waits for the next without stalling the context.
		ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
		if err != nil {
			t.Skipf("inotify: %v", err)
		}
		defer unix.Close(ifd)
		dir := t.TempDir()
		if _, err := unix.InotifyAddWatch(ifd, dir, unix.IN_CREATE); err != nil {
			t.Skipf("inotify watch: %v", err)
		}
		files := 0
		fire := func() {
			files++
			if err := os.WriteFile(fmt.Sprintf("%s/%d", dir, files), nil, 0o600); err != nil {
				t.Error(err)
			}
		}
		c := e.Setup(4)
		a := &kaio.Iocb{Op: kaio.OpPRead, Fd: ifd, Buf: make([]byte, 4096), Data: 1}
		b := &kaio.Iocb{Op: kaio.OpPRead, Fd: ifd, Buf: make([]byte, 4096), Data: 2}
		submit(t, c, a, b)
		noEvent(t, c, 10*time.Millisecond)
		fire()
		first := make(chan kaio.Event, 1)
		go func() {
			var ev [1]kaio.Event
			if n, _ := c.GetEvents(1, ev[:], 20*time.Second); n == 1 {
				first <- ev[0]
			}
			close(first)
		}()
		select {
		case ev := <-first:
			if ev.Res <= 0 {
				t.Fatalf("inotify read: %+v", ev)
			}
		case <-time.After(5 * time.Second):
			fire() // let the stalled read go, so that the context can be destroyed
			t.Fatal("a second reader of one inotify event stalled the context: GetEvents got nothing in 5s")
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpNoop, Data: 3})
		if ev := reap(t, c, 1)[0]; ev.Data != 3 {
			fire()
			t.Fatalf("a NOOP behind the waiting read: %+v", ev)
		}
		fire()
		if ev := reap(t, c, 1)[0]; ev.Res <= 0 {
			t.Fatalf("the second inotify read: %+v", ev)
		}
	}},
}

// destroyUnderLoadRounds runs rounds rounds of destroyUnderLoad (a tenth
// of them with -short) on one file.
func destroyUnderLoadRounds(t *testing.T, e *Env, rounds int, fixed bool) {
	if testing.Short() {
		rounds /= 10
	}
	f := tempFile(t, pattern(1<<20, 2), 0)
	for round := 0; round < rounds; round++ {
		destroyUnderLoad(t, e, f, round, fixed)
	}
}

// destroyUnderLoad is one round of Stress/DestroyUnderLoad. Rounds rotate
// through three loads: a reaper asleep with no timeout (the kernel
// engines' waiter in the kernel when Destroy comes) and a canceller;
// submitters that reap with GetEvents(0) between submissions and pipe
// reads racing for the bytes of a writer, so that Destroy is the first to
// wait in the kernel; and both, with the canceller. With fixed, the file
// and the pipe are registered (RegisterFiles) and the iocbs name them by
// index, and no fd may be left open after Destroy.
func destroyUnderLoad(t *testing.T, e *Env, f *os.File, round int, fixed bool) {
	mode := round % 3
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	fds := 0
	if fixed {
		fds = cmdtest.OpenFds(t)
	}
	c, err := kaio.Setup(64, e.Opts...)
	if err != nil {
		t.Fatal(err)
	}
	file, rd, flags := fd(f), p[0], uint32(0)
	if fixed {
		if err := c.RegisterFiles(file, rd); err != nil {
			t.Fatalf("RegisterFiles: %v", err)
		}
		file, rd, flags = 0, 1, kaio.FlagFixedFile
	}
	var mu sync.Mutex
	reaped := map[uint64]bool{}
	var dup atomic.Value
	note := func(evs []kaio.Event) {
		mu.Lock()
		for _, ev := range evs {
			if reaped[ev.Data] {
				dup.Store(ev.Data)
			}
			reaped[ev.Data] = true
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	var next atomic.Uint64
	recent := make(chan *kaio.Iocb, 64)
	stop := make(chan struct{})
	for g := 0; g < 3; g++ { // submitters
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]byte, 4096)
			evs := make([]kaio.Event, 16)
			for i := 0; ; i++ {
				id := next.Add(1)
				io := &kaio.Iocb{Op: kaio.OpPRead, Fd: file, Flags: flags, Buf: buf, Offset: int64(i%256) * 4096, Data: id}
				switch i % 4 {
				case 1:
					io = &kaio.Iocb{Op: kaio.OpPRead, Fd: rd, Flags: flags, Buf: make([]byte, 1), Data: id}
				case 2:
					io = &kaio.Iocb{Op: kaio.OpNoop, Data: id}
				case 3:
					if mode != 1 {
						io = &kaio.Iocb{Op: kaio.OpPoll, Fd: rd, Flags: flags, Events: unix.POLLIN, Data: id}
					}
				}
				if _, err := c.Submit(io); errors.Is(err, unix.EINVAL) {
					return // destroyed
				}
				if mode != 1 {
					select {
					case recent <- io:
					default:
					}
				}
				if mode != 0 {
					n, err := c.GetEvents(0, evs, 0)
					if errors.Is(err, unix.EINVAL) {
						return
					}
					note(evs[:n])
				}
				if i%7 == 0 {
					unix.Write(p[1], []byte{1})
				}
			}
		}(g)
	}
	if mode != 1 {
		wg.Add(1)
		go func() { // a canceller
			defer wg.Done()
			for {
				select {
				case io := <-recent:
					c.Cancel(io)
				case <-stop:
					return
				}
			}
		}()
	}
	if mode == 0 {
		wg.Add(1)
		go func() { // a reaper asleep with no timeout
			defer wg.Done()
			evs := make([]kaio.Event, 16)
			for {
				n, err := c.GetEvents(1, evs, -1)
				if err != nil {
					return // EINVAL: destroyed
				}
				note(evs[:n])
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- c.Destroy() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("round %d: Destroy: %v", round, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("round %d: Destroy under load did not return in 20s: %+v", round, c.Stats())
	}
	close(stop)
	waitAll := make(chan struct{})
	go func() { wg.Wait(); close(waitAll) }()
	select {
	case <-waitAll:
	case <-time.After(20 * time.Second):
		t.Fatalf("round %d: a submitter or reaper did not return after Destroy", round)
	}
	if d := dup.Load(); d != nil {
		t.Fatalf("round %d: iocb %v reaped twice", round, d)
	}
	if s := c.Stats(); s.InFlight != 0 || s.Completed != s.Submitted {
		t.Fatalf("round %d: stats after Destroy: %+v", round, s)
	}
	if fixed {
		if got := cmdtest.OpenFds(t); got != fds {
			t.Fatalf("round %d: %d fds open after Destroy, %d before Setup", round, got, fds)
		}
	}
}

// destroyRacingWakeups is one round of Stress/DestroyRacingWakeups: many
// reads of one pipe are woken by a single byte, and Destroy comes while
// all but one of them go back to waiting.
func destroyRacingWakeups(t *testing.T, e *Env, round int) {
	c, err := kaio.Setup(64, e.Opts...)
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	// The reads are submitted from four OS threads that then sit idle:
	// io_uring runs a woken read's retry as task work of the thread that
	// submitted it, while Destroy's cancels come from another.
	var ready, release sync.WaitGroup
	release.Add(1)
	for g := 0; g < 4; g++ {
		ready.Add(1)
		go func(g int) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			iocbs := make([]*kaio.Iocb, 16)
			for i := range iocbs {
				iocbs[i] = &kaio.Iocb{Op: kaio.OpPRead, Fd: p[0], Buf: make([]byte, 1), Data: uint64(16*g + i)}
			}
			if n, err := c.Submit(iocbs...); n != len(iocbs) {
				t.Errorf("Submit: %d, %v", n, err)
			}
			ready.Done()
			release.Wait()
		}(g)
	}
	ready.Wait()
	defer release.Done()
	unix.Write(p[1], []byte{1})
	done := make(chan error, 1)
	go func() { done <- c.Destroy() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("round %d: Destroy: %v", round, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("round %d: Destroy with pipe reads racing for a byte did not return in 20s: %+v", round, c.Stats())
	}
	if s := c.Stats(); s.InFlight != 0 || s.Completed != s.Submitted {
		t.Fatalf("round %d: stats after Destroy: %+v", round, s)
	}
}
