//go:build linux

package kaio_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
)

// The File benchmarks: random 4 KiB reads from G goroutines at once, each
// drawing its offsets from its own seeded generator, so that every reader
// (os.File, kaio.File on each engine) reads the same offsets of the same
// file. They report iops, allocs/op and peak-threads (the most OS threads
// the process had during the run, /proc/self/status). scripts/bench-file.sh
// runs them beside fio and prints the ratio table (docs/performance.md).
//
// KAIO_BENCH_FILE names the file to read (made, 1 GiB, if missing; it
// must be on a file system with O_DIRECT for the direct cases), else one
// is made in a temporary directory (256 MiB).

const benchBlock = 4096

// benchFileSize is the size of the file the benchmarks read.
func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	if p := os.Getenv("KAIO_BENCH_FILE"); p != "" {
		if st, err := os.Stat(p); err == nil {
			return p, st.Size()
		}
		benchFileOnce.Do(func() { benchFileErr = writeBenchFile(p, 1<<30) })
		if benchFileErr != nil {
			b.Fatal(benchFileErr)
		}
		return p, 1 << 30
	}
	benchFileOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kaio-bench")
		if err != nil {
			benchFileErr = err
			return
		}
		benchTmpDir = dir
		benchFileErr = writeBenchFile(filepath.Join(dir, "bench.dat"), 256<<20)
	})
	if benchFileErr != nil {
		b.Fatal(benchFileErr)
	}
	p := filepath.Join(benchTmpDir, "bench.dat")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return p, st.Size()
}

var (
	benchFileOnce sync.Once
	benchFileErr  error
	benchTmpDir   string
)

func writeBenchFile(p string, size int64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var blk [benchBlock]byte
	for off := int64(0); off < size; off += benchBlock {
		fillBlock(blk[:], off)
		w.Write(blk[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fillBlock writes the pattern of the block at off: its offset, repeated,
// so a read can be checked against where it came from.
func fillBlock(p []byte, off int64) {
	for i := 0; i+8 <= len(p); i += 8 {
		v := uint64(off + int64(i))
		for j := 0; j < 8; j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
}

// readerAt is what the benchmark reads through: os.File or kaio.File.
type readerAt interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
}

// threadPeak samples the process's OS thread count until stop is called,
// and returns the highest it saw. It allocates nothing while it samples,
// so that allocs/op is the readers' own.
func threadPeak() (stop func() int) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return func() int { return 0 }
	}
	var buf [4096]byte
	peak := threads(f, buf[:])
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				peak = max(peak, threads(f, buf[:]))
			}
		}
	}()
	return func() int {
		close(quit)
		<-done
		f.Close()
		return peak
	}
}

// threads is the Threads: line of /proc/self/status, read through f into
// buf.
func threads(f *os.File, buf []byte) int {
	n, _ := f.ReadAt(buf, 0)
	b := buf[:n]
	i := bytes.Index(b, []byte("\nThreads:"))
	if i < 0 {
		return 0
	}
	v := 0
	for _, c := range bytes.TrimLeft(b[i+len("\nThreads:"):], " \t") {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// benchReadAt runs b.N random 4 KiB reads of r (a file of size bytes) from
// g goroutines at once.
func benchReadAt(b *testing.B, r readerAt, size int64, g int) {
	blocks := uint64(size / benchBlock)
	bufs := make([][]byte, g)
	for i := range bufs {
		bufs[i] = kaio.AlignedBuffer(benchBlock)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ReportAllocs()
	b.ResetTimer()
	stop := threadPeak()
	var ru0, ru1 syscall.Rusage
	var subs0, reqs0 uint64
	kf, _ := r.(*kaio.File)
	if kf != nil {
		subs0, reqs0, _ = kaio.FileBatches(kaio.FileContext(kf))
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			buf := bufs[i]
			x := uint64(i)*0x9e3779b97f4a7c15 + 1 // xorshift64*, seeded per goroutine
			for next.Add(1) <= int64(b.N) {
				x ^= x >> 12
				x ^= x << 25
				x ^= x >> 27
				off := int64((x*0x2545f4914f6cdd1d)%blocks) * benchBlock
				if n, err := r.ReadAt(buf, off); n != benchBlock || err != nil {
					failed.Store(fmt.Errorf("ReadAt(%d): %d, %v", off, n, err))
					return
				}
			}
		}(i)
	}
	wg.Wait()
	el := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	peak := stop()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "iops")
	b.ReportMetric(float64(peak), "peak-threads")
	per := func(a, b syscall.Timeval) float64 { return float64(b.Nano() - a.Nano()) }
	b.ReportMetric((per(ru0.Utime, ru1.Utime)+per(ru0.Stime, ru1.Stime))/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(ru1.Nvcsw-ru0.Nvcsw+ru1.Nivcsw-ru0.Nivcsw)/float64(b.N), "cswitch/op")
	if kf != nil {
		// How well the ring batched: requests per Submit (none for
		// reads served inline from the page cache).
		subs, reqs, _ := kaio.FileBatches(kaio.FileContext(kf))
		if subs > subs0 {
			b.ReportMetric(float64(reqs-reqs0)/float64(subs-subs0), "reqs/submit")
		}
	}
}

// benchOpen opens the benchmark file for reader kind ("os" or an engine
// name), with O_DIRECT when direct. The kaio ones run on a Context of
// their own engine, with the shared Context's ring size.
func benchOpen(b *testing.B, kind string, direct bool) (readerAt, int64) {
	b.Helper()
	p, size := benchFile(b)
	flag := os.O_RDONLY
	if direct {
		flag |= syscall.O_DIRECT
	}
	if kind == "os" {
		f, err := os.OpenFile(p, flag, 0)
		if err != nil {
			b.Skip(err)
		}
		b.Cleanup(func() { f.Close() })
		return f, size
	}
	var opts []kaio.FileOption
	if kind != "shared" {
		e, err := kaio.ParseEngine(kind)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range kaio.Probe() {
			if s.Engine == e && !s.Usable {
				b.Skipf("engine %v is not usable here: %s", e, s.Reason)
			}
		}
		c, err := kaio.Setup(4096, kaio.WithEngine(e))
		if err != nil {
			b.Skip(err)
		}
		opts = append(opts, kaio.OnContext(c))
		b.Cleanup(func() { c.Destroy() })
	}
	f, err := kaio.OpenFile(p, flag, 0, opts...)
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, size
}

// BenchmarkFileReadAt is the issue 12 matrix: page-cached and O_DIRECT,
// os.File and kaio.File on each engine, 1 to 512 goroutines.
func BenchmarkFileReadAt(b *testing.B) {
	for _, mode := range []string{"cached", "direct"} {
		for _, g := range []int{1, 8, 64, 512} {
			for _, kind := range []string{"os", "retry", "uring", "native"} {
				b.Run(fmt.Sprintf("%s/g%d/%s", mode, g, kind), func(b *testing.B) {
					r, size := benchOpen(b, kind, mode == "direct")
					if mode == "cached" {
						warmCache(b, r, size)
					}
					benchReadAt(b, r, size, g)
				})
			}
		}
	}
}

// warmCache reads the whole file once, so that it is in the page cache.
func warmCache(b *testing.B, r readerAt, size int64) {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := r.ReadAt(buf, off); err != nil && off+int64(len(buf)) < size {
			b.Fatal(err)
		}
	}
}
