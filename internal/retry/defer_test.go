//go:build linux

package retry

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/cmdtest"
	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// deferredFile returns a context with DeferWrites and a file in the test's
// directory, after checking that the file system refuses RWF_NOWAIT for
// buffered writes (ext4 does; tmpfs and xfs take them, and nothing is
// deferred there).
func deferredFile(t *testing.T, nr int) (*Context, *os.File) {
	t.Helper()
	return deferredFileCfg(t, nr, Config{DeferWrites: true, Workers: 2})
}

func deferredFileCfg(t *testing.T, nr int, cfg Config) (*Context, *os.File) {
	t.Helper()
	c := newCtx(t, nr, cfg)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	probe := make([]byte, 512)
	_, err = unix.Pwritev2(int(f.Fd()), [][]byte{probe}, 0, unix.RWF_NOWAIT)
	switch {
	case err == nil:
		t.Skip("this file system takes buffered RWF_NOWAIT writes: none is deferred")
	case errors.Is(err, unix.ENOSYS):
		t.Skip("no pwritev2 here (qemu-user, or Linux before 4.6): the engine makes buffered writes in its workers, and defers none")
	case !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EAGAIN):
		t.Fatalf("pwritev2 RWF_NOWAIT: %v", err)
	}
	return c, f
}

// fileHas fails t unless f starts with want.
func fileHas(t *testing.T, f *os.File, want []byte) {
	t.Helper()
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("file differs from what was written (%d bytes, want %d)", len(got), len(want))
	}
}

// deferN reads c.deferN.
func deferN(c *Context) int {
	c.k.Mu.Lock()
	defer c.k.Mu.Unlock()
	return c.deferN
}

// writes returns n iocbs that write rec bytes of a pattern each to f at
// base, Data their index.
func writes(f *os.File, n, rec int, base int64, seed byte) ([]*core.Iocb, []byte) {
	var iocbs []*core.Iocb
	var want []byte
	for k := 0; k < n; k++ {
		b := bytes.Repeat([]byte{seed + byte(k) + 1}, rec)
		want = append(want, b...)
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: b, Offset: base + int64(k*rec), Data: uint64(k)})
	}
	return iocbs, want
}

// The writes wait for GetEvents: none is made before it (the contract),
// the first GetEvents makes them all, in batches, and takes their
// completions in without an offload worker.
func TestDeferredWrites(t *testing.T) {
	c, f := deferredFile(t, 256)
	bad, err := unix.Mmap(-1, 0, 4096, unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(bad)
	const rec, n = 16 << 10, 100
	iocbs, want := writes(f, n, rec, 0, 0)
	iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: bad, Offset: 64 << 20, Data: n})
	if m, err := c.Submit(iocbs); m != len(iocbs) {
		t.Fatalf("Submit %d of %d: %v", m, len(iocbs), err)
	}
	// The first iteration of the first write found the file refusing
	// RWF_NOWAIT; each went to the deferred queue after it.
	if s := c.Stats(); s.Deferred != uint64(len(iocbs)) || s.Offloaded != 0 || s.Completed != 0 {
		t.Fatalf("after Submit: %+v, want every write deferred and none completed", s)
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Fatalf("file has %d bytes before GetEvents: a deferred write was made", st.Size())
	}
	evs := make([]core.Event, len(iocbs))
	got, err := c.GetEvents(context.Background(), len(iocbs), evs, 10*time.Second)
	if got != len(iocbs) || err != nil {
		t.Fatalf("GetEvents got %d of %d: %v", got, len(iocbs), err)
	}
	for _, ev := range evs {
		switch {
		case ev.Data < n && ev.Res != rec:
			t.Fatalf("write %d res %d, want %d", ev.Data, ev.Res, rec)
		case ev.Data == n && ev.Res != -int64(unix.EFAULT):
			t.Fatalf("write from PROT_NONE memory: res %d, want -EFAULT", ev.Res)
		}
	}
	fileHas(t, f, want)
	s := c.Stats()
	t.Logf("stats %+v", s)
	if s.Offloaded != 0 || s.InFlight != 0 || deferN(c) != 0 {
		t.Fatalf("stats %+v, deferN %d: want no offload and nothing left", s, deferN(c))
	}
	if c.offBatch.Load() != batchOff && s.Batched == 0 {
		t.Fatal("no deferred write went in a batch, though Linux AIO is usable")
	}
}

// Without Linux AIO, GetEvents makes the deferred writes one by one.
func TestDeferredWritesWithoutLinuxAIO(t *testing.T) {
	c, f := deferredFileCfg(t, 64, Config{DeferWrites: true, NoLinuxAIO: true})
	iocbs, want := writes(f, 16, 8192, 0, 0)
	if m, err := c.Submit(iocbs); m != len(iocbs) {
		t.Fatalf("Submit: %d, %v", m, err)
	}
	for _, ev := range reapN(t, c, len(iocbs)) {
		if ev.Res != 8192 {
			t.Fatalf("write %d: res %d", ev.Data, ev.Res)
		}
	}
	fileHas(t, f, want)
	if s := c.Stats(); s.Deferred != uint64(len(iocbs)) || s.Batched != 0 {
		t.Fatalf("stats %+v: want every write deferred, none batched", s)
	}
}

// A Do's write is not deferred: its goroutine waits on its own note, not
// in GetEvents, and a worker makes it.
func TestDeferredWritesNotForDo(t *testing.T) {
	c, f := deferredFile(t, 64)
	iocbs, want := writes(f, 1, 8192, 0, 0)
	done := make(chan core.Event, 1)
	go func() { done <- c.Do(iocbs[0]) }()
	select {
	case ev := <-done:
		if ev.Res != 8192 {
			t.Fatalf("Do: res %d", ev.Res)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Do of a buffered write did not return without GetEvents")
	}
	fileHas(t, f, want)
	if s := c.Stats(); s.Deferred != 0 {
		t.Fatalf("stats %+v: a Do was deferred", s)
	}
}

// A GetEvents that wants nothing and will not wait still makes the
// deferred writes (as any io_uring_enter with GETEVENTS runs deferred task
// work): a program that polls makes progress.
func TestDeferredWritesPolled(t *testing.T) {
	c, f := deferredFile(t, 64)
	iocbs, want := writes(f, 8, 4096, 0, 0)
	if m, err := c.Submit(iocbs); m != len(iocbs) {
		t.Fatalf("Submit: %d, %v", m, err)
	}
	evs := make([]core.Event, len(iocbs))
	got, err := c.GetEvents(context.Background(), 0, evs, 0)
	if got != len(iocbs) || err != nil {
		t.Fatalf("GetEvents(0, timeout 0) got %d of %d: %v", got, len(iocbs), err)
	}
	fileHas(t, f, want)
}

// A reaper asleep in GetEvents before the writes come is woken by their
// deferral, and makes them.
func TestDeferredWritesWakeASleepingReaper(t *testing.T) {
	c, f := deferredFile(t, 64)
	iocbs, want := writes(f, 16, 4096, 0, 0)
	done := make(chan error, 1)
	go func() {
		evs := make([]core.Event, len(iocbs))
		got := 0
		for got < len(iocbs) {
			n, err := c.GetEvents(context.Background(), len(iocbs)-got, evs[got:], 20*time.Second)
			if err != nil || n == 0 {
				done <- errors.New("GetEvents returned without the writes' events")
				return
			}
			got += n
		}
		done <- nil
	}()
	// Let the reaper fall asleep first, most of the time.
	for i := 0; i < 1000; i++ {
		c.k.Mu.Lock()
		asleep := c.waiters.First() != nil
		c.k.Mu.Unlock()
		if asleep {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, i := range iocbs { // one Submit per write: one deferral each
		if m, err := c.Submit([]*core.Iocb{i}); m != 1 {
			t.Fatalf("Submit: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fileHas(t, f, want)
}

// Cancel ends a deferred write that no GetEvents has taken: its event
// says ECANCELED and its data never reaches the file.
func TestDeferredWriteCancel(t *testing.T) {
	c, f := deferredFile(t, 64)
	iocbs, want := writes(f, 8, 4096, 0, 0)
	if m, err := c.Submit(iocbs); m != len(iocbs) {
		t.Fatalf("Submit: %d, %v", m, err)
	}
	if err := c.Cancel(iocbs[7]); err != nil {
		t.Fatalf("Cancel of a deferred write: %v", err)
	}
	for _, ev := range reapN(t, c, len(iocbs)) {
		switch {
		case ev.Data == 7 && ev.Res != -int64(unix.ECANCELED):
			t.Fatalf("cancelled write: res %d, want -ECANCELED", ev.Res)
		case ev.Data != 7 && ev.Res != 4096:
			t.Fatalf("write %d: res %d", ev.Data, ev.Res)
		}
	}
	fileHas(t, f, want[:7*4096])
	if st, _ := f.Stat(); st.Size() != 7*4096 {
		t.Fatalf("file has %d bytes: the cancelled write reached it", st.Size())
	}
	if s := c.Stats(); s.Cancelled != 1 || deferN(c) != 0 {
		t.Fatalf("stats %+v, deferN %d", s, deferN(c))
	}
}

// Destroy ends deferred writes nobody reaped (ECANCELED, as for any queued
// request), returns, and leaves no fd of theirs open.
func TestDeferredWritesDestroy(t *testing.T) {
	before := cmdtest.OpenFds(t)
	c, err := New(64, Config{DeferWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	iocbs, _ := writes(f, 32, 4096, 0, 0)
	if m, err := c.Submit(iocbs); m != len(iocbs) {
		t.Fatalf("Submit: %d, %v", m, err)
	}
	f.Close() // the requests hold the file themselves
	deferred := c.Stats().Deferred
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if deferred > 0 {
		if st, err := os.Stat(f.Name()); err != nil || st.Size() != 0 {
			t.Fatalf("after Destroy: %v, %d bytes: a deferred write was made", err, st.Size())
		}
	}
	if after := cmdtest.OpenFds(t); after != before {
		t.Fatalf("%d fds open after Destroy, %d before", after, before)
	}
}

// Several submitters and several reapers at once, Cancel at random and
// Destroy at the end: every write ends once, with its data or ECANCELED.
func TestDeferredWritesConcurrent(t *testing.T) {
	c, f := deferredFile(t, 128)
	const subs, each, rec = 4, 200, 4096
	var mu sync.Mutex
	ended := make(map[uint64]int64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reapers sync.WaitGroup
	for k := 0; k < 3; k++ {
		reapers.Add(1)
		go func() {
			defer reapers.Done()
			evs := make([]core.Event, 16)
			for {
				n, err := c.GetEvents(context.Background(), 1, evs, 5*time.Millisecond)
				mu.Lock()
				for _, ev := range evs[:n] {
					if _, dup := ended[ev.Data]; dup {
						t.Errorf("write %d ended twice", ev.Data)
					}
					ended[ev.Data] = ev.Res
				}
				mu.Unlock()
				select {
				case <-stop:
					if n == 0 {
						return
					}
				default:
				}
				if err != nil {
					return
				}
			}
		}()
	}
	for s := 0; s < subs; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(s), 1))
			for k := 0; k < each; k++ {
				id := uint64(s*each + k)
				i := &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: bytes.Repeat([]byte{byte(id)}, rec), Offset: int64(id) * rec, Data: id}
				for {
					m, err := c.Submit([]*core.Iocb{i})
					if m == 1 {
						break
					}
					if !errors.Is(err, unix.EAGAIN) {
						t.Errorf("Submit: %v", err)
						return
					}
					time.Sleep(100 * time.Microsecond) // ring full
				}
				if rng.IntN(8) == 0 {
					c.Cancel(i) // EINVAL if it ended already
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(ended)
		mu.Unlock()
		if n == subs*each || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	reapers.Wait()
	if len(ended) != subs*each {
		t.Fatalf("%d of %d writes ended", len(ended), subs*each)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for id, res := range ended {
		switch res {
		case rec:
			if off := int(id) * rec; len(data) < off+rec || !bytes.Equal(data[off:off+rec], bytes.Repeat([]byte{byte(id)}, rec)) {
				t.Fatalf("write %d ended with %d but its data is not in the file", id, res)
			}
		case -int64(unix.ECANCELED):
			cancelled++
		default:
			t.Fatalf("write %d: res %d", id, res)
		}
	}
	s := c.Stats()
	t.Logf("%d cancelled; stats %+v", cancelled, s)
	if s.InFlight != 0 || deferN(c) != 0 || s.Completed != subs*each {
		t.Fatalf("stats %+v, deferN %d", s, deferN(c))
	}
}

// The fds closed right after Submit: each deferred write holds its file,
// and GetEvents makes it into the file the fd named.
func TestDeferredWritesFdClosedAfterSubmit(t *testing.T) {
	before := cmdtest.OpenFds(t)
	c, f := deferredFile(t, 64)
	name := f.Name()
	var want []byte
	var n int
	for k := 0; k < 4; k++ {
		o, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		iocbs, w := writes(o, 8, 4096, int64(k*8*4096), byte(k*8))
		if m, err := c.Submit(iocbs); m != len(iocbs) {
			t.Fatalf("Submit: %d, %v", m, err)
		}
		o.Close()
		want = append(want, w...)
		n += len(iocbs)
	}
	if s := c.Stats(); s.Deferred != uint64(n) {
		t.Fatalf("stats %+v: want %d deferred", s, n)
	}
	for _, ev := range reapN(t, c, n) {
		if ev.Res != 4096 {
			t.Fatalf("write %d after its fd was closed: res %d", ev.Data, ev.Res)
		}
	}
	fileHas(t, f, want)
	f.Close()
	c.Destroy()
	if after := cmdtest.OpenFds(t); after != before {
		t.Fatalf("%d fds open after Destroy, %d before", after, before)
	}
}

// Deferred writes into a full ext4 (12 MiB into 8): those that fit are
// made, the rest end with ENOSPC (or short), each once.
func TestDeferredWritesDiskFull(t *testing.T) {
	const fsSize, size, n = 8 << 20, 64 << 10, 192
	dir := cmdtest.Ext4(t, fsSize)
	c := newCtx(t, n, Config{DeferWrites: true})
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{7}, size)
	for k := 0; k < n/16; k++ {
		batch := make([]*core.Iocb, 16)
		for i := range batch {
			batch[i] = &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: buf, Offset: int64((k*16 + i) * size), Data: uint64(k*16 + i)}
		}
		if got, err := c.Submit(batch); got != len(batch) {
			t.Fatal(got, err)
		}
	}
	if s := c.Stats(); s.Deferred == 0 {
		t.Fatalf("stats %+v: nothing deferred on ext4", s)
	}
	var ok, full int
	seen := make(map[uint64]bool)
	for _, e := range reapN(t, c, n) {
		if seen[e.Data] {
			t.Fatalf("write %d ended twice", e.Data)
		}
		seen[e.Data] = true
		switch {
		case e.Res == size:
			ok++
		case e.Res == -int64(unix.ENOSPC) || e.Res >= 0 && e.Res < size:
			full++
		default:
			t.Fatalf("write %d: res %d", e.Data, e.Res)
		}
	}
	if ok == 0 || full == 0 || ok*size > fsSize {
		t.Fatalf("%d writes done, %d short or ENOSPC, on an %d-byte file system", ok, full, fsSize)
	}
	if s := c.Stats(); s.InFlight != 0 || deferN(c) != 0 {
		t.Fatalf("stats %+v, deferN %d", s, deferN(c))
	}
}

// Destroy while submitters defer writes and reapers make them: Destroy
// returns, every write accepted ends once (reaped, or ended by Destroy),
// and the submitters and reapers are told EINVAL.
func TestDeferredWritesDestroyUnderLoad(t *testing.T) {
	before := cmdtest.OpenFds(t)
	c, err := New(64, Config{DeferWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := unix.Pwritev2(int(f.Fd()), [][]byte{make([]byte, 512)}, 0, unix.RWF_NOWAIT); err == nil || errors.Is(err, unix.ENOSYS) {
		t.Skipf("buffered RWF_NOWAIT writes here: %v (nothing would be deferred)", err)
	}
	var mu sync.Mutex
	reaped := make(map[uint64]bool)
	var wg sync.WaitGroup
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]core.Event, 8)
			for {
				n, err := c.GetEvents(context.Background(), 1, evs, -1)
				mu.Lock()
				for _, ev := range evs[:n] {
					if reaped[ev.Data] {
						t.Errorf("write %d reaped twice", ev.Data)
					}
					reaped[ev.Data] = true
				}
				mu.Unlock()
				if err != nil {
					if !errors.Is(err, unix.EINVAL) {
						t.Errorf("GetEvents: %v, want EINVAL after Destroy", err)
					}
					return
				}
			}
		}()
	}
	var accepted [3]int
	for s := 0; s < 3; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := bytes.Repeat([]byte{byte(s)}, 4096)
			for k := 0; ; k++ {
				id := uint64(s<<20 | k)
				i := &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: buf, Offset: int64(k%256) * 4096, Data: id}
				m, err := c.Submit([]*core.Iocb{i})
				if m == 1 {
					accepted[s]++
					continue
				}
				switch {
				case errors.Is(err, unix.EAGAIN):
					time.Sleep(50 * time.Microsecond) // ring full
				case errors.Is(err, unix.EINVAL):
					return // destroyed
				default:
					t.Errorf("Submit: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s := c.Stats()
	total := uint64(accepted[0] + accepted[1] + accepted[2])
	t.Logf("%d accepted, %d reaped; stats %+v", total, len(reaped), s)
	if s.Submitted != total || s.Completed != total || s.InFlight != 0 || deferN(c) != 0 {
		t.Fatalf("stats %+v, deferN %d, %d accepted: want each accepted write ended once", s, deferN(c), total)
	}
	if s.Deferred == 0 {
		t.Fatal("no write was deferred")
	}
	f.Close()
	if after := cmdtest.OpenFds(t); after != before {
		t.Fatalf("%d fds open after Destroy, %d before", after, before)
	}
}
