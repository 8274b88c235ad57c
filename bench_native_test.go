//go:build linux

package kaio_test

import (
	"testing"

	"github.com/kaio-go/kaio"
)

// The Linux AIO engine on the shared benchmarks of bench_test.go. Its NOOP
// completes in user space and its buffered reads run inside io_submit (see
// internal/native's doc), so these measure kaio's overhead around io_submit
// more than asynchrony.

func BenchmarkNativeNoopBatch64(b *testing.B)         { benchNoop(b, kaio.EngineNative) }
func BenchmarkNativeCachedRead4KDepth64(b *testing.B) { benchCachedReads(b, kaio.EngineNative) }
func BenchmarkNativePipePingPong(b *testing.B)        { benchPipePingPong(b, kaio.EngineNative) }
