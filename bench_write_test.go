//go:build linux

package kaio_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// benchBufferedWrites makes 64 KiB buffered writes at 4 KiB-aligned random
// offsets of a 64 MiB file, aio-stress's random write stage (depth 64,
// Submit 8 at a time, reap at least 8), alternating, round by round, with
// a pwrite loop over the same offsets, and reports both rates and their
// ratio (x-pwrite). On ext4, which refuses RWF_NOWAIT for buffered writes,
// every write goes to the offload workers, or with WithDeferredWrites to
// GetEvents.
func benchBufferedWrites(b *testing.B, opts ...kaio.Option) {
	const depth, iter, size, fileSize = 64, 8, 64 << 10, 64 << 20
	c, err := kaio.Setup(depth, append([]kaio.Option{kaio.WithEngine(kaio.EngineRetry)}, opts...)...)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { c.Destroy() })
	f, err := os.Create(filepath.Join(b.TempDir(), "w"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fd := int(f.Fd())
	buf := make([]byte, size)
	for off := 0; off < fileSize; off += size { // lay it out: every write below overwrites
		if _, err := unix.Pwrite(fd, buf, int64(off)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := unix.Pwritev2(fd, [][]byte{buf[:512]}, 0, unix.RWF_NOWAIT); err == nil {
		b.Skip("this file system takes buffered RWF_NOWAIT writes: nothing is offloaded or deferred")
	}
	arena := make([]byte, depth*size)
	iocbs := make([]*kaio.Iocb, depth)
	for i := range iocbs {
		iocbs[i] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd, Buf: arena[i*size : (i+1)*size : (i+1)*size], Data: uint64(i)}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	offs := make([]int64, depth*4)
	evs := make([]kaio.Event, depth)
	free := make([]*kaio.Iocb, 0, depth)
	// round makes len(offs) writes through kaio, depth in flight.
	round := func() {
		free = append(free[:0], iocbs...)
		next, inflight := 0, 0
		for next < len(offs) || inflight > 0 {
			for len(free) >= iter && next < len(offs) {
				batch := free[len(free)-iter:]
				for _, io := range batch {
					io.Offset = offs[next]
					next++
				}
				if n, err := c.Submit(batch...); n != iter {
					b.Fatalf("Submit: %d, %v", n, err)
				}
				free = free[:len(free)-iter]
				inflight += iter
			}
			n, err := c.GetEvents(min(iter, inflight), evs, -1)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range evs[:n] {
				if ev.Res != size {
					b.Fatalf("write: %+v", ev)
				}
				free = append(free, iocbs[ev.Data])
			}
			inflight -= n
		}
	}
	plain := func() {
		for k, off := range offs {
			if n, err := unix.Pwrite(fd, arena[k%depth*size:(k%depth+1)*size], off); n != size {
				b.Fatalf("pwrite: %d, %v", n, err)
			}
		}
	}
	var kaioT, plainT time.Duration
	writes := 0
	b.ReportAllocs()
	b.ResetTimer()
	for writes < b.N {
		for i := range offs {
			offs[i] = rng.Int64N((fileSize-size)/4096) * 4096
		}
		alternated(writes/len(offs)%2 == 0, round, plain, &kaioT, &plainT)
		writes += len(offs)
	}
	b.StopTimer()
	mb := float64(writes) * size / 1e6
	b.ReportMetric(mb/kaioT.Seconds(), "kaio-MB/s")
	b.ReportMetric(mb/plainT.Seconds(), "pwrite-MB/s")
	b.ReportMetric(float64(plainT)/float64(kaioT), "x-pwrite")
	if s := c.Stats(); s.Offloaded+s.Deferred == 0 {
		b.Fatalf("no write went to the workers or GetEvents: %+v", s)
	}
}

func BenchmarkBufferedRandomWrite64K(b *testing.B) { benchBufferedWrites(b) }

func BenchmarkBufferedRandomWrite64KDeferred(b *testing.B) {
	benchBufferedWrites(b, kaio.WithDeferredWrites())
}
