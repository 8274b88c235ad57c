//go:build linux

package uring

import (
	"testing"

	"github.com/kaio-go/kaio/internal/enginetest"
)

// BenchmarkNoop: NOOPs submitted and reaped in batches of 64. One op is
// one NOOP.
func BenchmarkNoop(b *testing.B) { enginetest.BenchNoop(b, &engine) }

// BenchmarkRead4K: cached 4 KiB reads at depth 64. One op is one read.
func BenchmarkRead4K(b *testing.B) { enginetest.BenchRead4K(b, &engine) }
