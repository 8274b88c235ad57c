//go:build linux

package native

import (
	"testing"

	"github.com/kaio-go/kaio/internal/enginetest"
)

// BenchmarkNoop: NOOPs submitted and reaped in batches of 64. One op is
// one NOOP (completed in user space: the kernel has no IOCB_CMD_NOOP).
func BenchmarkNoop(b *testing.B) { enginetest.BenchNoop(b, &engine) }

// BenchmarkRead4K: cached 4 KiB reads at depth 64. One op is one read.
// Buffered reads are synchronous in io_submit (see the package doc).
func BenchmarkRead4K(b *testing.B) { enginetest.BenchRead4K(b, &engine) }
