//go:build linux

package kaio_test

import (
	"testing"

	"github.com/kaio-go/kaio"
)

// The io_uring engine on the shared benchmarks of bench_test.go (they skip
// when Setup fails, as where io_uring is refused).

func BenchmarkURingNoopBatch64(b *testing.B)         { benchNoop(b, kaio.EngineURing) }
func BenchmarkURingCachedRead4KDepth64(b *testing.B) { benchCachedReads(b, kaio.EngineURing) }

// BenchmarkURingCachedRead4KDepth64Registered: the same reads into
// registered buffers (IORING_OP_READ_FIXED): no page pinning per read.
func BenchmarkURingCachedRead4KDepth64Registered(b *testing.B) {
	benchCachedReadsReg(b, kaio.EngineURing, true)
}
func BenchmarkURingPipePingPong(b *testing.B) { benchPipePingPong(b, kaio.EngineURing) }
