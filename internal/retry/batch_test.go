//go:build linux

package retry

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// batchUsable skips the test when c cannot make batches (Linux AIO
// refused here).
func batchUsable(t *testing.T, c *Context) {
	t.Helper()
	if c.inlineBatch() == nil {
		t.Skip("Linux AIO is not usable here (io_setup refused): no batched first attempts")
	}
}

// uncachedFile returns a context that can batch and the fd of a file of
// size bytes whose pages were dropped from the page cache (as far as the
// kernel takes FADV_DONTNEED).
func uncachedFile(t *testing.T, size int) (*Context, int) {
	t.Helper()
	c := newCtx(t, 64, Config{})
	batchUsable(t, c)
	fd := int(file(t, size, 0).Fd())
	unix.Fdatasync(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
	return c, fd
}

// wantFileBytes compares the bytes read into b from offset off with file()'s
// contents, of size size.
func wantFileBytes(t *testing.T, what string, b []byte, off, size int) {
	t.Helper()
	for i := range b {
		if off+i >= size {
			return
		}
		if b[i] != byte((off+i)*13) {
			t.Fatalf("%s: byte %d (offset %d) is %d, want %d", what, i, off+i, b[i], byte((off+i)*13))
		}
	}
}

// A batch of cached reads, plain and vectored, at EOF and across it, and
// one into memory the kernel cannot write: each gets the result its own
// preadv2 would give, the batched ones in one io_submit.
func TestBatchedFirstAttempts(t *testing.T) {
	const size = 1<<20 + 100
	c := newCtx(t, 64, Config{})
	batchUsable(t, c)
	f := file(t, size, 0)
	fd := int(f.Fd())
	bad, err := unix.Mmap(-1, 0, 8192, unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(bad)

	type want struct {
		off  int
		res  int64
		bufs [][]byte
	}
	var iocbs []*core.Iocb
	var wants []want
	add := func(off int, res int64, vec bool, lens ...int) {
		i := &core.Iocb{Op: core.OpPRead, Fd: fd, Offset: int64(off), Data: uint64(len(iocbs))}
		var bufs [][]byte
		for _, l := range lens {
			bufs = append(bufs, make([]byte, l))
		}
		if vec {
			i.Op, i.Iov = core.OpPReadv, bufs
		} else {
			i.Buf = bufs[0]
		}
		iocbs = append(iocbs, i)
		wants = append(wants, want{off, res, bufs})
	}
	for k := 0; k < 8; k++ {
		add(k*64<<10, 64<<10, false, 64<<10)
	}
	add(4096, 3*4096+10, true, 4096, 10, 8192)
	add(size-50, 50, false, 4096) // across EOF: short
	add(size, 0, false, 4096)     // at EOF
	add(size+4096, 0, true, 512, 512)
	iocbs = append(iocbs, &core.Iocb{Op: core.OpNoop, Data: uint64(len(iocbs))})
	wants = append(wants, want{res: 0})
	iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: fd, Buf: bad, Data: uint64(len(iocbs))})
	wants = append(wants, want{res: -int64(unix.EFAULT)})
	batchable := len(iocbs) - 1 // all but the NOOP

	if n, err := c.Submit(iocbs); n != len(iocbs) {
		t.Fatalf("Submit: %d of %d, %v", n, len(iocbs), err)
	}
	evs := reapN(t, c, len(iocbs))
	for _, ev := range evs {
		w := wants[ev.Data]
		if ev.Res != w.res {
			t.Errorf("iocb %d (offset %d): res %d, want %d", ev.Data, w.off, ev.Res, w.res)
			continue
		}
		off := w.off
		for _, b := range w.bufs {
			wantFileBytes(t, "iocb", b, off, size)
			off += len(b)
		}
	}
	s := c.Stats()
	if s.Batched != uint64(batchable) {
		t.Errorf("Stats.Batched = %d, want %d (%+v)", s.Batched, batchable, s)
	}
	if s.Offloaded != 0 || s.Completed != uint64(len(iocbs)) {
		t.Errorf("stats %+v: want every request done inline", s)
	}
}

// Reads of a file that is not cached: the batch's attempts miss, the
// requests go to the workers at once, and the data comes whole. With the
// caller's own RWF_NOWAIT the miss is the result: -EAGAIN, as preadv2
// gives.
func TestBatchedMisses(t *testing.T) {
	const size = 4 << 20
	for _, userNowait := range []bool{false, true} {
		name := "offload"
		if userNowait {
			name = "RWF_NOWAIT"
		}
		t.Run(name, func(t *testing.T) {
			c, fd := uncachedFile(t, size)
			var iocbs []*core.Iocb
			for k := 0; k < 8; k++ {
				i := &core.Iocb{Op: core.OpPRead, Fd: fd, Buf: make([]byte, 64<<10), Offset: int64(k) * (512 << 10), Data: uint64(k)}
				if userNowait {
					i.RWFlags = unix.RWF_NOWAIT
				}
				iocbs = append(iocbs, i)
			}
			if n, err := c.Submit(iocbs); n != len(iocbs) {
				t.Fatalf("Submit: %d, %v", n, err)
			}
			missed := 0
			for _, ev := range reapN(t, c, len(iocbs)) {
				i := iocbs[ev.Data]
				switch {
				case ev.Res == -int64(unix.EAGAIN) && userNowait:
					missed++
				case ev.Res != 64<<10:
					t.Fatalf("read at %d: res %d", i.Offset, ev.Res)
				default:
					wantFileBytes(t, "read", i.Buf, int(i.Offset), size)
				}
			}
			s := c.Stats()
			t.Logf("stats %+v, %d missed", s, missed)
			if s.Batched != 8 {
				t.Errorf("Stats.Batched = %d, want 8", s.Batched)
			}
			switch {
			case userNowait && missed == 0, !userNowait && s.Offloaded == 0:
				t.Skip("the file stayed cached (FADV_DONTNEED ignored): nothing missed")
			case userNowait && s.Offloaded != 0:
				t.Errorf("%d offloaded with RWF_NOWAIT from the caller", s.Offloaded)
			}
		})
	}
}

// Buffered writes batch as reads do where the file system takes
// RWF_NOWAIT writes (tmpfs); where it refuses them (ext4) the context
// learns it from the batch and the writes go to the workers. Either way
// the file holds what was written.
func TestBatchedWrites(t *testing.T) {
	for _, dir := range []string{"/dev/shm", ""} {
		if dir == "" {
			dir = t.TempDir()
		} else if _, err := os.Stat(dir); err != nil {
			continue
		}
		c := newCtx(t, 64, Config{})
		batchUsable(t, c)
		p := filepath.Join(dir, "kaio-batch-"+filepath.Base(t.TempDir()))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		defer f.Close()
		var want []byte
		for round := 0; round < 3; round++ {
			var iocbs []*core.Iocb
			for k := 0; k < 8; k++ {
				b := bytes.Repeat([]byte{byte(round*8 + k + 1)}, 16<<10)
				off := len(want)
				want = append(want, b...)
				iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: b, Offset: int64(off)})
			}
			if n, err := c.Submit(iocbs); n != len(iocbs) {
				t.Fatalf("%s: Submit %d, %v", dir, n, err)
			}
			for _, ev := range reapN(t, c, len(iocbs)) {
				if ev.Res != 16<<10 {
					t.Fatalf("%s: write res %d", dir, ev.Res)
				}
			}
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: file differs from what was written", dir)
		}
		c.k.Mu.Lock()
		refused := len(c.nowaitNo) > 0
		c.k.Mu.Unlock()
		t.Logf("%s: stats %+v, RWF_NOWAIT writes refused: %v", dir, c.Stats(), refused)
		if s := c.Stats(); !refused && s.Batched != 24 {
			t.Errorf("%s: Stats.Batched = %d, want all 24 writes", dir, s.Batched)
		}
	}
}

// Without Linux AIO (NoLinuxAIO, as under a filter that refuses it) there
// is no batch: the requests attempt one by one, with the same results.
func TestNoBatchWithoutLinuxAIO(t *testing.T) {
	c := newCtx(t, 64, Config{NoLinuxAIO: true})
	f := file(t, 1<<20, 0)
	var iocbs []*core.Iocb
	for k := 0; k < 16; k++ {
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: make([]byte, 64<<10), Offset: int64(k) * 64 << 10})
	}
	if n, err := c.Submit(iocbs); n != len(iocbs) {
		t.Fatal(n, err)
	}
	for _, ev := range reapN(t, c, len(iocbs)) {
		if ev.Res != 64<<10 {
			t.Fatalf("res %d", ev.Res)
		}
		wantFileBytes(t, "read", ev.Obj.Buf, int(ev.Obj.Offset), 1<<20)
	}
	if s := c.Stats(); s.Batched != 0 {
		t.Fatalf("Stats.Batched = %d without Linux AIO", s.Batched)
	}
}

// Submitters on one context at once: one batch at a time, the others
// attempt one by one; then Destroy comes while they still submit, and a
// Submit after it is refused without touching the closed batch.
func TestBatchConcurrentSubmitsAndDestroy(t *testing.T) {
	const size = 4 << 20
	c, err := New(256, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.inlineBatch() == nil {
		c.Destroy()
		t.Skip("Linux AIO is not usable here (io_setup refused): no batched first attempts")
	}
	f := file(t, size, 0)
	fd := int(f.Fd())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]core.Event, 8)
			for round := 0; ; round++ {
				// Fresh iocbs each round: the goroutines reap each
				// other's events, and read their iocbs.
				iocbs := make([]*core.Iocb, 8)
				for k := range iocbs {
					iocbs[k] = &core.Iocb{Op: core.OpPRead, Fd: fd, Buf: make([]byte, 32<<10), Offset: int64((round*8+k+g*5)%128) * (32 << 10)}
				}
				n, err := c.Submit(iocbs)
				got := 0
				for got < n {
					m, err := c.GetEvents(t.Context(), 1, evs[:n-got], -1)
					if err != nil {
						return // destroyed while waiting
					}
					for _, ev := range evs[:m] {
						if ev.Res == -int64(unix.ECANCELED) {
							continue
						}
						if ev.Res != 32<<10 {
							t.Errorf("res %d", ev.Res)
							return
						}
						wantFileBytes(t, "read", ev.Obj.Buf, int(ev.Obj.Offset), size)
					}
					got += m
				}
				if err != nil {
					return // EINVAL: destroyed
				}
				select {
				case <-stop:
					if round%50 == 0 {
						return
					}
				default:
				}
			}
		}()
	}
	for c.Stats().Batched < 200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, p := range []*atomic.Pointer[inlineBatch]{&c.batch, &c.offBatch} {
		if b := p.Load(); b != nil && b != batchOff {
			b.mu.Lock()
			closed := b.closed
			b.mu.Unlock()
			if !closed {
				t.Error("Destroy left a batch AIO context open")
			}
		}
	}
	if n, err := c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: fd, Buf: make([]byte, 8)}, {Op: core.OpPRead, Fd: fd, Buf: make([]byte, 8)}}); n != 0 || err == nil {
		t.Fatalf("Submit after Destroy: %d, %v", n, err)
	}
}

// Offloaded buffered writes (ext4 refuses RWF_NOWAIT for them) are made
// several to an io_submit by a worker, those of one file together: two
// files' writes interleaved, one of them from memory the kernel cannot
// read (EFAULT, as pwritev2 says), and each file holds what was written.
func TestBatchedOffloadWrites(t *testing.T) {
	c := newCtx(t, 256, Config{Workers: 1})
	batchUsable(t, c)
	bad, err := unix.Mmap(-1, 0, 4096, unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(bad)
	dir := t.TempDir()
	var fs [2]*os.File
	var want [2][]byte
	for k := range fs {
		f, err := os.Create(filepath.Join(dir, string(rune('a'+k))))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fs[k] = f
	}
	const rec = 32 << 10
	for round := 0; round < 20 && (round < 3 || c.Stats().Batched == 0); round++ {
		var iocbs []*core.Iocb
		for k := 0; k < 64; k++ {
			f := k % 2
			b := bytes.Repeat([]byte{byte(round*64 + k + 1)}, rec)
			off := len(want[f])
			want[f] = append(want[f], b...)
			iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: int(fs[f].Fd()), Buf: b, Offset: int64(off), Data: 1})
		}
		// One write from unreadable memory, past what file 1 gets (a
		// failed write may still move its size there).
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: int(fs[1].Fd()), Buf: bad, Offset: 16 << 20})
		if n, err := c.Submit(iocbs); n != len(iocbs) {
			t.Fatalf("Submit %d of %d: %v", n, len(iocbs), err)
		}
		for _, ev := range reapN(t, c, len(iocbs)) {
			switch {
			case ev.Data == 1 && ev.Res != rec:
				t.Fatalf("write res %d, want %d", ev.Res, rec)
			case ev.Data == 0 && ev.Res != -int64(unix.EFAULT):
				t.Fatalf("write from PROT_NONE memory: res %d, want -EFAULT", ev.Res)
			}
		}
	}
	for k, f := range fs {
		got, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < len(want[k]) || !bytes.Equal(got[:len(want[k])], want[k]) || len(bytes.Trim(got[len(want[k]):], "\x00")) != 0 {
			t.Fatalf("file %d differs from what was written (%d bytes, want %d and zeros)", k, len(got), len(want[k]))
		}
	}
	s := c.Stats()
	t.Logf("stats %+v", s)
	c.k.Mu.Lock()
	refused := len(c.nowaitNo) > 0
	c.k.Mu.Unlock()
	switch {
	case !refused:
		t.Skip("this file system takes buffered RWF_NOWAIT writes: none went to the workers")
	case s.Batched == 0:
		t.Fatalf("no offloaded write was batched in 20 rounds of 65 (%+v)", s)
	}
}

// A batch that holds a read of a file without FMODE_NOWAIT (procfs, where
// io_submit refuses the iocb and preadv2 says EOPNOTSUPP) between reads
// of an ext4 file: the refused one and those after it attempt themselves,
// and every read gets its data.
func TestBatchWithAFileThatRefusesNowait(t *testing.T) {
	c := newCtx(t, 64, Config{})
	batchUsable(t, c)
	f := file(t, 1<<20, 0)
	proc, err := os.Open("/proc/self/cmdline")
	if err != nil {
		t.Skip(err)
	}
	defer proc.Close()
	want, err := os.ReadFile("/proc/self/cmdline")
	if err != nil || len(want) == 0 {
		t.Skipf("/proc/self/cmdline: %v", err)
	}
	var iocbs []*core.Iocb
	for k := 0; k < 6; k++ {
		i := &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: make([]byte, 32<<10), Offset: int64(k) << 15, Data: uint64(k)}
		if k == 2 {
			i.Fd, i.Offset, i.Buf = int(proc.Fd()), 0, make([]byte, 4096)
		}
		iocbs = append(iocbs, i)
	}
	if n, err := c.Submit(iocbs); n != len(iocbs) {
		t.Fatalf("Submit %d: %v", n, err)
	}
	for _, ev := range reapN(t, c, len(iocbs)) {
		i := iocbs[ev.Data]
		if ev.Data == 2 {
			if ev.Res != int64(len(want)) || !bytes.Equal(i.Buf[:ev.Res], want) {
				t.Errorf("procfs read: res %d, %q; want %q", ev.Res, i.Buf[:max(ev.Res, 0)], want)
			}
			continue
		}
		if ev.Res != 32<<10 {
			t.Fatalf("read %d: res %d", ev.Data, ev.Res)
		}
		wantFileBytes(t, "read", i.Buf, int(i.Offset), 1<<20)
	}
	t.Logf("stats %+v", c.Stats())
}

// A batch whose reads are partly cached: the batch's attempt returns the
// cached head of each, and the rest goes on as the request's own attempt
// would have it (the next RWF_NOWAIT attempt, then a worker), with the
// data whole.
func TestBatchedPartlyCached(t *testing.T) {
	const size = 8 << 20
	c, fd := uncachedFile(t, size)
	unix.Fadvise(fd, 0, 0, unix.FADV_RANDOM) // no readahead past the heads
	var iocbs []*core.Iocb
	for k := 0; k < 4; k++ {
		off := int64(k) * (2 << 20)
		unix.Pread(fd, make([]byte, 16<<10), off) // cache the head of each
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: fd, Buf: make([]byte, 1<<20), Offset: off, Data: uint64(k)})
	}
	if n, err := c.Submit(iocbs); n != len(iocbs) {
		t.Fatalf("Submit %d: %v", n, err)
	}
	for _, ev := range reapN(t, c, len(iocbs)) {
		i := iocbs[ev.Data]
		if ev.Res != 1<<20 {
			t.Fatalf("read at %d: res %d", i.Offset, ev.Res)
		}
		wantFileBytes(t, "read", i.Buf, int(i.Offset), size)
	}
	s := c.Stats()
	t.Logf("stats %+v", s)
	if s.Batched != 4 {
		t.Errorf("Stats.Batched = %d, want 4", s.Batched)
	}
	if s.Offloaded == 0 {
		t.Skip("the reads found the whole range cached (FADV_DONTNEED ignored): no partly cached read")
	}
}

// A worker's batch of writes that follow each other in the file, one of
// them from memory the kernel cannot read: it alone gets EFAULT, and
// every other range holds its bytes.
func TestBatchedOffloadWritesOneBad(t *testing.T) {
	c := newCtx(t, 64, Config{Workers: 1})
	batchUsable(t, c)
	bad, err := unix.Mmap(-1, 0, 16<<10, unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(bad)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const rec, n = 16 << 10, 16
	for round := 0; round < 10; round++ {
		base := int64(round) * n * rec
		var iocbs []*core.Iocb
		for k := 0; k < n; k++ {
			i := &core.Iocb{Op: core.OpPWrite, Fd: int(f.Fd()), Buf: bytes.Repeat([]byte{byte(round*n + k + 1)}, rec), Offset: base + int64(k)*rec, Data: uint64(k)}
			if k == 5 {
				i.Buf = bad
			}
			iocbs = append(iocbs, i)
		}
		if m, err := c.Submit(iocbs); m != n {
			t.Fatalf("Submit %d: %v", m, err)
		}
		for _, ev := range reapN(t, c, n) {
			want := int64(rec)
			if ev.Data == 5 {
				want = -int64(unix.EFAULT)
			}
			if ev.Res != want {
				t.Fatalf("round %d write %d: res %d, want %d", round, ev.Data, ev.Res, want)
			}
		}
		got := make([]byte, n*rec)
		if _, err := f.ReadAt(got, base); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < n; k++ {
			if k == 5 {
				continue
			}
			if b := got[k*rec : (k+1)*rec]; !bytes.Equal(b, bytes.Repeat([]byte{byte(round*n + k + 1)}, rec)) {
				t.Fatalf("round %d: write %d's range holds other bytes", round, k)
			}
		}
	}
	if s := c.Stats(); s.Batched == 0 {
		t.Fatalf("no write batched (%+v)", s)
	}
}
