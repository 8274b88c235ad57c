//go:build linux

package retry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// aioUsable skips the test when this process cannot set up a Linux AIO
// context (ENOSYS, a seccomp filter, fs.aio-max-nr).
func aioUsable(t *testing.T) {
	t.Helper()
	ctx, _, err := linuxaio.Setup(1)
	if err != nil {
		t.Skipf("Linux AIO not usable here: %v", err)
	}
	linuxaio.Destroy(ctx)
}

// directCtx is a context of nr slots and a 1 MiB file open with O_DIRECT,
// where Linux AIO is usable.
func directCtx(t *testing.T, nr int) (*Context, *os.File) {
	t.Helper()
	aioUsable(t)
	return newCtx(t, nr, Config{}), file(t, 1<<20, unix.O_DIRECT)
}

// scaled is n rounds of a stress, a fifth of them with -short.
func scaled(n int) int {
	if testing.Short() {
		return n / 5
	}
	return n
}

func aligned(n int) []byte {
	b := make([]byte, n+4096)
	off := int((4096 - uintptr(unsafe.Pointer(&b[0]))%4096) % 4096)
	return b[off : off+n : off+n]
}

// TestDirectGoesToLinuxAIO: O_DIRECT reads and writes, and fsyncs, go to
// Linux AIO (Stats.LinuxAIO) with the collector running while the kernel
// has the buffers, and come back with the right data; with NoLinuxAIO they
// go to the offload workers.
func TestDirectGoesToLinuxAIO(t *testing.T) {
	aioUsable(t)
	for _, noAIO := range []bool{false, true} {
		c := newCtx(t, 64, Config{NoLinuxAIO: noAIO})
		f := file(t, 1<<20, unix.O_DIRECT)
		fd := int(f.Fd())
		const n = 32
		w := aligned(n * 4096)
		for i := range w {
			w[i] = byte(i*7 + 3)
		}
		var iocbs []*core.Iocb
		for i := 0; i < n; i++ {
			iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: fd, Buf: w[i*4096 : (i+1)*4096], Offset: int64(i) * 4096})
		}
		if k, err := c.Submit(iocbs); k != n {
			t.Fatalf("Submit: %d, %v", k, err)
		}
		runtime.GC()
		for _, ev := range reapN(t, c, n) {
			if ev.Res != 4096 {
				t.Fatalf("O_DIRECT write: %+v", ev)
			}
		}
		if k, err := c.Submit([]*core.Iocb{{Op: core.OpFDSync, Fd: fd}}); k != 1 {
			t.Fatalf("Submit fdatasync: %v", err)
		}
		if ev := reapN(t, c, 1)[0]; ev.Res != 0 {
			t.Fatalf("fdatasync: %+v", ev)
		}
		r := aligned(n * 4096)
		if k, err := c.Submit([]*core.Iocb{{Op: core.OpPReadv, Fd: fd, Iov: [][]byte{r[:4096], r[4096:]}}}); k != 1 {
			t.Fatalf("Submit readv: %v", err)
		}
		runtime.GC()
		if ev := reapN(t, c, 1)[0]; ev.Res != int64(len(r)) || !bytes.Equal(r, w) {
			t.Fatalf("O_DIRECT readv: %+v, data equal %v", ev, bytes.Equal(r, w))
		}
		// Do: a sync request, whose iocb is its own, and whose kick
		// wakes the Do goroutine rather than the run list.
		d := aligned(4096)
		if ev := c.Do(&core.Iocb{Op: core.OpPRead, Fd: fd, Buf: d, Offset: 4096}); ev.Res != 4096 || !bytes.Equal(d, w[4096:8192]) {
			t.Fatalf("O_DIRECT Do read: %+v, data equal %v", ev, bytes.Equal(d, w[4096:8192]))
		}
		s := c.Stats()
		want := uint64(n + 3)
		if noAIO && (s.LinuxAIO != 0 || s.Offloaded < want) || !noAIO && (s.LinuxAIO != want || s.Offloaded != 0) {
			t.Fatalf("NoLinuxAIO %v: %d requests, stats %+v", noAIO, want, s)
		}
		// One retry per request through Linux AIO: the iteration that
		// takes in the kernel's result (counted by the reaper's batch).
		if !noAIO && s.Retries != want {
			t.Fatalf("%d requests through Linux AIO, Stats.Retries %d, want %d", want, s.Retries, want)
		}
	}
}

// TestDirectDestroyInFlight: Destroy with O_DIRECT requests in the kernel
// waits for them (the kernel cannot cancel them) and returns.
func TestDirectDestroyInFlight(t *testing.T) {
	aioUsable(t)
	c, err := New(64, Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := file(t, 8<<20, unix.O_DIRECT)
	var iocbs []*core.Iocb
	for i := 0; i < 64; i++ {
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: aligned(128 << 10), Offset: int64(i%64) * (128 << 10)})
	}
	if k, err := c.Submit(iocbs); k != len(iocbs) {
		t.Fatalf("Submit: %d, %v", k, err)
	}
	if err := c.Cancel(iocbs[63]); err != nil && err != unix.EAGAIN && err != unix.EINVAL {
		t.Fatalf("Cancel of an O_DIRECT read in the kernel: %v, want EAGAIN (or EINVAL if it is done)", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.InFlight != 0 || s.Completed != s.Submitted {
		t.Fatalf("after Destroy: %+v", s)
	}
}

// TestDirectWaitInKernel: a GetEvents whose every request in flight is in
// the kernel waits in io_getevents itself (waitKernel) and takes in the
// completions; with a request outside the kernel in flight it sleeps for
// the others' wake-ups instead. Either way each iocb has one event with
// the right data, and Destroy ends a GetEvents that waits.
func TestDirectWaitInKernel(t *testing.T) {
	c, f := directCtx(t, 128)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 13) // file's pattern
	}
	const n = 48
	bufs := make([][]byte, n)
	submit := func(k int, data uint64) []*core.Iocb {
		var iocbs []*core.Iocb
		for i := 0; i < k; i++ {
			bufs[i] = aligned(4096)
			iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: bufs[i], Offset: int64(i) * 4096, Data: data + uint64(i)})
		}
		if got, err := c.Submit(iocbs); got != k {
			t.Fatalf("Submit: %d, %v", got, err)
		}
		return iocbs
	}
	check := func(evs []core.Event, data uint64) {
		t.Helper()
		seen := map[uint64]bool{}
		for _, ev := range evs {
			i := int(ev.Data - data)
			if ev.Res != 4096 || seen[ev.Data] || !bytes.Equal(bufs[i], want[i*4096:(i+1)*4096]) {
				t.Fatalf("event %+v (seen before %v)", ev, seen[ev.Data])
			}
			seen[ev.Data] = true
		}
	}

	// All in the kernel: one GetEvents for all of them.
	submit(n, 0)
	evs := make([]core.Event, n)
	if k, err := c.GetEvents(context.Background(), n, evs, -1); k != n || err != nil {
		t.Fatalf("GetEvents(%d): %d, %v", n, k, err)
	}
	check(evs, 0)

	// A pipe read in flight too: it never completes by itself.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	pr := &core.Iocb{Op: core.OpPRead, Fd: p[0], Buf: make([]byte, 8), Data: 1000}
	if k, err := c.Submit([]*core.Iocb{pr}); k != 1 {
		t.Fatalf("Submit pipe read: %v", err)
	}
	submit(16, 100)
	if k, err := c.GetEvents(context.Background(), 16, evs[:16], 10*time.Second); k != 16 || err != nil {
		t.Fatalf("GetEvents(16) beside a pipe read: %d, %v", k, err)
	}
	check(evs[:16], 100)
	if err := c.Cancel(pr); err != nil {
		t.Fatalf("Cancel of the pipe read: %v", err)
	}
	if ev := reapN(t, c, 1)[0]; ev.Data != 1000 || ev.Res != -int64(unix.ECANCELED) {
		t.Fatalf("cancelled pipe read: %+v", ev)
	}

	// A timeout with nothing to come: GetEvents returns at it.
	if k, err := c.GetEvents(context.Background(), 1, evs[:1], time.Millisecond); k != 0 || err != nil {
		t.Fatalf("GetEvents with nothing in flight: %d, %v", k, err)
	}

	// Destroy while a GetEvents waits for more than is in flight.
	submit(32, 200)
	res := make(chan error, 1)
	go func() {
		_, err := c.GetEvents(context.Background(), n, evs, -1)
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err != unix.EINVAL {
			t.Fatalf("GetEvents across Destroy: %v, want EINVAL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetEvents still waiting 10s after Destroy")
	}
}

// TestDirectReapersRace: goroutines submit O_DIRECT reads and reap with
// GetEvents at once, each waiting for a batch, so that the reaper and the
// GetEvents callers hand the kernel's ring to each other; every iocb has
// exactly one event.
func TestDirectReapersRace(t *testing.T) {
	c, f := directCtx(t, 256)
	const goroutines, batch = 4, 8
	rounds := scaled(200)
	var mu sync.Mutex
	seen := map[uint64]int{}
	var done [goroutines]int // events seen of each goroutine's iocbs
	record := func(evs []core.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			if ev.Res != 4096 {
				t.Errorf("event %+v", ev)
			}
			seen[ev.Data]++
			done[ev.Data/uint64(rounds*batch)]++
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			iocbs := make([]*core.Iocb, batch)
			for i := range iocbs {
				iocbs[i] = &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: aligned(4096), Offset: int64(g*batch+i) * 4096}
			}
			evs := make([]core.Event, goroutines*batch)
			for r := 0; r < rounds; r++ {
				for i, cb := range iocbs {
					cb.Data = uint64((g*rounds+r)*batch + i)
				}
				if k, err := c.Submit(iocbs); k != batch {
					t.Errorf("Submit: %d, %v", k, err)
					return
				}
				// Reap until this goroutine's iocbs are done: their
				// events may be reaped by another goroutine, and this one
				// may wait for a batch of another's.
				for {
					mu.Lock()
					mine := done[g]
					mu.Unlock()
					if mine == (r+1)*batch {
						break
					}
					k, err := c.GetEvents(context.Background(), min(batch, len(evs)), evs, 5*time.Millisecond)
					if err != nil {
						t.Errorf("GetEvents: %d, %v", k, err)
						return
					}
					record(evs[:k])
				}
			}
		}(g)
	}
	wg.Wait()
	if len(seen) != goroutines*rounds*batch {
		t.Fatalf("%d distinct events, want %d", len(seen), goroutines*rounds*batch)
	}
	for d, k := range seen {
		if k != 1 {
			t.Fatalf("iocb %d: %d events", d, k)
		}
	}
}

// TestDirectPipeline: aio-stress's loop on one goroutine, with GetEvents
// waiting for a batch without a timeout while the rest of the depth is in
// the kernel, so that the reaper and the GetEvents waits in io_getevents
// take turns at the ring. A GetEvents that waited in the kernel for
// completions the reaper had already taken off the ring would never
// return.
func TestDirectPipeline(t *testing.T) {
	c, f := directCtx(t, 64)
	const depth, batch = 32, 8
	rounds := scaled(4000)
	iocbs := make([]*core.Iocb, depth)
	for i := range iocbs {
		iocbs[i] = &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: aligned(4096), Data: uint64(i)}
	}
	res := make(chan error, 1)
	go func() {
		res <- func() error {
			free := append([]*core.Iocb(nil), iocbs...)
			evs := make([]core.Event, depth)
			inflight := 0
			for r := 0; r < rounds; r++ {
				for len(free) < batch {
					k, err := c.GetEvents(context.Background(), batch, evs, -1)
					if err != nil || k < batch {
						return fmt.Errorf("GetEvents(%d): %d, %v", batch, k, err)
					}
					for _, ev := range evs[:k] {
						if ev.Res != 4096 {
							return fmt.Errorf("event %+v", ev)
						}
						free = append(free, iocbs[ev.Data])
					}
					inflight -= k
				}
				sub := free[len(free)-batch:]
				for i, cb := range sub {
					cb.Offset = int64((r*batch+i)%256) * 4096
				}
				if k, err := c.Submit(sub); k != batch {
					return fmt.Errorf("Submit: %d, %v", k, err)
				}
				free = free[:len(free)-batch]
				inflight += batch
			}
			for _, ev := range reapN(t, c, inflight) {
				if ev.Res != 4096 {
					return fmt.Errorf("event %+v", ev)
				}
			}
			return nil
		}()
	}()
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no end after 60s: a GetEvents waits for completions that will not come (stats %+v)", c.Stats())
	}
}
