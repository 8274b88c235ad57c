//go:build linux

package retry

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/cmdtest"
	"github.com/kaio-go/kaio/internal/core"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newCtx(t *testing.T, nr int, cfg Config) *Context {
	t.Helper()
	c, err := New(nr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy() })
	return c
}

func reapN(t *testing.T, c *Context, n int) []core.Event {
	t.Helper()
	evs := make([]core.Event, n)
	got := 0
	for got < n {
		k, err := c.GetEvents(context.Background(), 1, evs[got:], 10*time.Second)
		if err != nil || k == 0 {
			t.Fatalf("reaped %d of %d: %v", got, n, err)
		}
		got += k
	}
	return evs
}

func file(t *testing.T, size int, flag int) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 13)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|flag, 0)
	if err != nil {
		t.Skipf("open with flags %#x: %v", flag, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The offload pool never grows past Workers, however much blocking work
// is queued.
func TestOffloadWorkersBounded(t *testing.T) {
	const workers = 3
	c := newCtx(t, 64, Config{Workers: workers, NoLinuxAIO: true}) // fsyncs to the workers
	f := file(t, 1<<20, 0)
	var iocbs []*core.Iocb
	for i := 0; i < 64; i++ {
		iocbs = append(iocbs, &core.Iocb{Op: core.OpFSync, Fd: int(f.Fd())})
	}
	if n, err := c.Submit(iocbs); n != 64 {
		t.Fatal(n, err)
	}
	reapN(t, c, 64)
	c.k.Mu.Lock()
	started := c.offStarts
	c.k.Mu.Unlock()
	if started < 1 || started > workers {
		t.Fatalf("%d offload workers started, bound %d", started, workers)
	}
	if s := c.Stats(); s.Offloaded != 64 {
		t.Fatalf("stats %+v: want 64 offloaded", s)
	}
}

// A read whose first part is cached and the rest not: RWF_NOWAIT returns
// the cached part (progress without a wait, so the runner kicks itself),
// the retry gets EAGAIN and offloads the rest (or, if readahead was quick,
// reads it). The data must be whole.
func TestPartlyCachedRead(t *testing.T) {
	const size = 8 << 20
	c := newCtx(t, 4, Config{})
	f := file(t, size, 0)
	fd := int(f.Fd())
	unix.Fdatasync(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
	head := make([]byte, 64<<10)
	unix.Pread(fd, head, 0) // cache the first 64 KiB only
	buf := make([]byte, size)
	if n, err := c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: fd, Buf: buf}}); n != 1 {
		t.Fatal(err)
	}
	ev := reapN(t, c, 1)[0]
	if ev.Res != size {
		t.Fatalf("event %+v", ev)
	}
	for i := range buf {
		if buf[i] != byte(i*13) {
			t.Fatalf("byte %d: %d", i, buf[i])
		}
	}
	s := c.Stats()
	t.Logf("stats: %+v", s)
	if s.Retries == 0 {
		t.Skip("the whole file stayed cached (FADV_DONTNEED ignored): nothing to retry")
	}
	// Whether the rest went to a worker depends on the kernel's readahead,
	// which the first RWF_NOWAIT attempt may start and which may finish
	// before the retry: both are right, so only the data is asserted.
	if s.Offloaded == 0 {
		t.Logf("readahead brought the rest in before the retry: no offload")
	}
}

// ext4's buffered writes refuse RWF_NOWAIT (EOPNOTSUPP): the context
// remembers the file and sends its writes straight to the workers.
func TestNowaitRefusalRemembered(t *testing.T) {
	c := newCtx(t, 4, Config{})
	f := file(t, 4096, 0)
	w := func() {
		if n, err := c.Submit([]*core.Iocb{{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: []byte("data")}}); n != 1 {
			t.Fatal(err)
		}
		if ev := reapN(t, c, 1)[0]; ev.Res != 4 {
			t.Fatalf("write %+v", ev)
		}
	}
	w()
	c.k.Mu.Lock()
	refused := len(c.nowaitNo)
	c.k.Mu.Unlock()
	if refused == 0 {
		t.Skip("this file system takes buffered RWF_NOWAIT writes")
	}
	w()
	if s := c.Stats(); s.Offloaded != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// Steady NOOP submission allocates nothing.
func TestNoopAllocatesNothing(t *testing.T) {
	c := newCtx(t, 64, Config{})
	iocbs := make([]*core.Iocb, 64)
	for i := range iocbs {
		iocbs[i] = &core.Iocb{Op: core.OpNoop}
	}
	evs := make([]core.Event, 64)
	allocs := testing.AllocsPerRun(100, func() {
		c.Submit(iocbs)
		c.GetEvents(context.Background(), 64, evs, -1)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch of 64 NOOPs", allocs)
	}
}

// Reads and writes of a regular file that wait share one duplicate of its
// fd among them (fileRef), whatever fd each was submitted on, as long as
// the fds agree on the file and its open flags; the last to finish closes
// it.
func TestWaitingRequestsShareAFileDuplicate(t *testing.T) {
	c := newCtx(t, 8, Config{})
	f := file(t, 4096, 0)
	g, err := os.OpenFile(f.Name(), os.O_RDWR, 0) // another open file description, the same flags
	if err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(f.Name()) // read-only: other flags
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	buf := make([]byte, 512)
	held := func(op core.Op, fd int) *request {
		t.Helper()
		var fc fdCache
		fc.Reset()
		var pl plan
		i := &core.Iocb{Op: op, Fd: fd, Buf: buf}
		if err := c.check(i, &fc, &pl); err != nil {
			t.Fatal(err)
		}
		if pl.path != pathInline {
			t.Fatalf("path %d, want pathInline", pl.path)
		}
		r := new(request)
		c.initRequest(r, -1)
		r.setup(i, &pl)
		if e := r.hold(); e != 0 {
			t.Fatal(e)
		}
		return r
	}
	open := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == nil
	}
	refs := func() (files, refs int) {
		c.k.Mu.Lock()
		defer c.k.Mu.Unlock()
		for _, f := range c.files {
			refs += f.refs
		}
		return len(c.files), refs
	}

	r1 := held(core.OpPWrite, int(f.Fd()))
	r2 := held(core.OpPWrite, int(g.Fd()))
	r3 := held(core.OpPRead, int(ro.Fd()))
	if r1.fd == int(f.Fd()) || r1.fd != r2.fd || r3.fd == r1.fd || r3.fd == int(ro.Fd()) {
		t.Fatalf("fds %d %d %d (submitted on %d %d %d): want the first two to share one duplicate, the read-only one its own", r1.fd, r2.fd, r3.fd, f.Fd(), g.Fd(), ro.Fd())
	}
	if n, k := refs(); n != 2 || k != 3 {
		t.Fatalf("%d shared duplicates held %d times, want 2 and 3", n, k)
	}
	// The requests own their file: the caller's fds may go.
	f.Close()
	g.Close()
	if _, err := unix.Pwrite(r1.fd, []byte("kaio"), 0); err != nil {
		t.Fatalf("write through the duplicate after the caller's fds closed: %v", err)
	}
	dup := r1.fd
	c.release(r1)
	if !open(dup) || r1.fd != -1 || r1.fref != nil {
		t.Fatal("the first release closed the duplicate another request holds")
	}
	c.release(r2)
	if open(dup) {
		t.Fatal("the last release left the duplicate open")
	}
	c.release(r3)
	if n, k := refs(); n != 0 || k != 0 {
		t.Fatalf("%d shared duplicates left, held %d times", n, k)
	}
}

// Buffered writes submitted on fds that are closed right after Submit, each
// round on fresh fds of the same file with different flags, land where
// they should, and no duplicate outlives them.
func TestSharedDuplicatesWithFdsClosedAfterSubmit(t *testing.T) {
	const per, size = 16, 4096
	c := newCtx(t, 2*per, Config{})
	f := file(t, per*size, 0)
	before := cmdtest.OpenFds(t)
	bufs := make([][]byte, per)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	got := make([]byte, size)
	for round := 0; round < 200; round++ {
		var open [3]*os.File
		for k, flag := range []int{os.O_RDWR, os.O_RDWR, os.O_WRONLY} {
			var err error
			if open[k], err = os.OpenFile(f.Name(), flag, 0); err != nil {
				t.Fatal(err)
			}
		}
		iocbs := make([]*core.Iocb, per)
		for i := range iocbs {
			for j := range bufs[i] {
				bufs[i][j] = byte(round + i)
			}
			iocbs[i] = &core.Iocb{Op: core.OpPWrite, Fd: int(open[i%3].Fd()), Buf: bufs[i], Offset: int64(i * size), Data: uint64(i)}
		}
		if n, err := c.Submit(iocbs); n != per {
			t.Fatal(n, err)
		}
		for _, o := range open {
			o.Close()
		}
		for _, e := range reapN(t, c, per) {
			if e.Res != size {
				t.Fatalf("round %d: write %d: res %d", round, e.Data, e.Res)
			}
		}
		for i := range per {
			if _, err := f.ReadAt(got, int64(i*size)); err != nil {
				t.Fatal(err)
			}
			if got[0] != byte(round+i) || got[size-1] != byte(round+i) {
				t.Fatalf("round %d: block %d holds %d, want %d", round, i, got[0], byte(round+i))
			}
		}
	}
	if s := c.Stats(); s.Offloaded == 0 {
		t.Log("this file system takes buffered writes with RWF_NOWAIT: none waited")
	}
	c.k.Mu.Lock()
	left := len(c.files)
	c.k.Mu.Unlock()
	if after := cmdtest.OpenFds(t); left != 0 || after != before {
		t.Fatalf("%d shared duplicates left; %d fds open before, %d after", left, before, after)
	}
}

// Shared duplicates under their worst user: goroutines submit buffered
// writes on fresh fds of one file (three sets of flags), close each fd
// right after Submit, cancel some of the writes, while another goroutine
// reaps; then Destroy comes under that load. Every accepted write ends
// once, and when Destroy returns no duplicate is left, shared or not.
func TestSharedDuplicatesCancelAndDestroy(t *testing.T) {
	const size = 4096
	f := file(t, 64*size, 0)
	before := cmdtest.OpenFds(t)
	for round := 0; round < 20; round++ {
		c, err := New(64, Config{})
		if err != nil {
			t.Fatal(err)
		}
		var accepted, reaped atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the reaper
			defer wg.Done()
			evs := make([]core.Event, 64)
			for {
				n, err := c.GetEvents(context.Background(), 1, evs, 20*time.Millisecond)
				reaped.Add(int64(n))
				if err != nil {
					return // destroyed
				}
			}
		}()
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				buf := make([]byte, size)
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					flag := []int{os.O_RDWR, os.O_WRONLY, os.O_RDWR | os.O_SYNC}[k%3]
					o, err := os.OpenFile(f.Name(), flag, 0)
					if err != nil {
						t.Error(err)
						return
					}
					iocbs := make([]*core.Iocb, 4)
					for i := range iocbs {
						iocbs[i] = &core.Iocb{Op: core.OpPWrite, Fd: int(o.Fd()), Buf: buf, Offset: int64((g*16 + i) * size)}
					}
					n, _ := c.Submit(iocbs)
					o.Close()
					accepted.Add(int64(n))
					for _, i := range iocbs[:n:n] {
						if k%2 == 0 {
							c.Cancel(i) // nil, EAGAIN (a worker has it) or EINVAL (done)
						}
					}
				}
			}(g)
		}
		time.Sleep(time.Duration(1+round%5) * time.Millisecond)
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		c.k.Mu.Lock()
		left, inflight := len(c.files), c.inflight
		c.k.Mu.Unlock()
		if left != 0 || inflight != 0 {
			t.Fatalf("round %d: after Destroy %d shared duplicates, %d requests left", round, left, inflight)
		}
		if r, a := reaped.Load(), accepted.Load(); r > a {
			t.Fatalf("round %d: %d events reaped for %d writes accepted", round, r, a)
		}
	}
	if after := cmdtest.OpenFds(t); after != before {
		t.Fatalf("%d fds open before, %d after", before, after)
	}
}

// Buffered writes past the end of a full file system, on fds closed right
// after Submit: the ones that fit succeed, the rest end with ENOSPC, each
// once, and no duplicate outlives them.
func TestSharedDuplicatesDiskFull(t *testing.T) {
	const fsSize, size, n = 8 << 20, 64 << 10, 192 // 12 MiB of writes into 8 MiB
	dir := cmdtest.Tmpfs(t, fsSize)
	name := filepath.Join(dir, "f")
	c := newCtx(t, n, Config{})
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	for k := 0; k < n/16; k++ {
		o, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]*core.Iocb, 16)
		for i := range batch {
			batch[i] = &core.Iocb{Op: core.OpPWrite, Fd: int(o.Fd()), Buf: buf, Offset: int64((k*16 + i) * size), Data: uint64(k*16 + i)}
		}
		if got, err := c.Submit(batch); got != len(batch) {
			t.Fatal(got, err)
		}
		o.Close()
	}
	var ok, full int
	for _, e := range reapN(t, c, n) {
		switch {
		case e.Res == size:
			ok++
		case e.Res == -int64(unix.ENOSPC) || e.Res >= 0 && e.Res < size:
			full++ // the space ran out inside it, or before it
		default:
			t.Fatalf("write %d: res %d", e.Data, e.Res)
		}
	}
	if ok == 0 || full == 0 || ok*size > fsSize {
		t.Fatalf("%d writes done, %d short or ENOSPC, on an %d-byte file system", ok, full, fsSize)
	}
	c.k.Mu.Lock()
	left := len(c.files)
	c.k.Mu.Unlock()
	if left != 0 {
		t.Fatalf("%d shared duplicates left", left)
	}
	t.Logf("%d writes done, %d ran out of space; %d waited for a worker", ok, full, c.Stats().Offloaded)
}
