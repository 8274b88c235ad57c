//go:build linux

package retry

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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
