//go:build linux

package enginetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio/internal/core"
)

// BenchNoop: NOOPs submitted and reaped in batches of 64. One op is one
// NOOP.
func BenchNoop(b *testing.B, e *Engine) {
	c := e.NewCtx(b, 64)
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
			n, err := c.GetEvents(context.Background(), 64-got, evs[got:], -1)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// BenchRead4K: cached 4 KiB reads at depth 64. One op is one read.
func BenchRead4K(b *testing.B, e *Engine) {
	const depth, size = 64, 4096
	c := e.NewCtx(b, depth)
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
			n, err := c.GetEvents(context.Background(), depth-got, evs[got:], -1)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}
