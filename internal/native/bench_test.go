package native

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio/internal/core"
)

// BenchmarkNoop: NOOPs submitted and reaped in batches of 64. One op is
// one NOOP (completed in user space: the kernel has no IOCB_CMD_NOOP).
func BenchmarkNoop(b *testing.B) {
	c := newCtx(b, 64)
	iocbs := make([]*core.Iocb, 64)
	for i := range iocbs {
		iocbs[i] = &core.Iocb{Op: core.OpNoop, Data: uint64(i)}
	}
	evs := make([]core.Event, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += 64 {
		if n, err := c.Submit(iocbs); n != 64 {
			b.Fatal(err)
		}
		for got := 0; got < 64; {
			n, err := c.GetEvents(nil, 64-got, evs[got:], -1)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// BenchmarkRead4K: cached 4 KiB reads at depth 64. One op is one read.
// Buffered reads are synchronous in io_submit (see the package doc).
func BenchmarkRead4K(b *testing.B) {
	const depth, size = 64, 4096
	c := newCtx(b, depth)
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.Write(make([]byte, depth*size*4))
	iocbs := make([]*core.Iocb, depth)
	for i := range iocbs {
		iocbs[i] = &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: make([]byte, size), Offset: int64(i * size)}
	}
	evs := make([]core.Event, depth)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += depth {
		if n, err := c.Submit(iocbs); n != depth {
			b.Fatal(err)
		}
		for got := 0; got < depth; {
			n, err := c.GetEvents(nil, depth-got, evs[got:], -1)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}
