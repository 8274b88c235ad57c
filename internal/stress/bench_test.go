//go:build linux

package stress

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio"
)

// BenchmarkCachedRead is the read stage over a cached 64 MiB file in 64 KiB
// records at depth 64 on each usable engine: mostly the tool's loop, the
// engine's submit and reap, and memory copies. One op is one stage of
// 1024 ios.
func BenchmarkCachedRead(b *testing.B) {
	for _, e := range []kaio.Engine{kaio.EngineRetry, kaio.EngineURing, kaio.EngineNative} {
		b.Run(e.String(), func(b *testing.B) {
			if !engineUsable(e) {
				b.Skip("engine not usable")
			}
			file := filepath.Join(b.TempDir(), "f")
			cfg, _ := ParseArgs([]string{"-s", "64", "-o", "0", "-n", file})
			cfg.Engine = e
			if code := Run(cfg, io.Discard, io.Discard); code != 0 {
				b.Fatalf("write: exit %d", code)
			}
			cfg.Stages = []int{StageRead}
			b.ReportAllocs()
			b.SetBytes(64 << 20)
			b.ResetTimer()
			for range b.N {
				if code := Run(cfg, io.Discard, io.Discard); code != 0 {
					b.Fatalf("read: exit %d", code)
				}
			}
		})
	}
}
