//go:build linux

package kaio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// WithDeferredWrites on retry leaves the writes to GetEvents (on ext4,
// which refuses RWF_NOWAIT for buffered writes); uring and native ignore
// it, and their writes end as before.
func TestWithDeferredWrites(t *testing.T) {
	for _, e := range []Engine{EngineRetry, EngineURing, EngineNative} {
		t.Run(e.String(), func(t *testing.T) {
			c, err := Setup(64, WithEngine(e), WithDeferredWrites())
			if err != nil {
				t.Skipf("%v: %v", e, err)
			}
			defer c.Destroy()
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = unix.Pwritev2(int(f.Fd()), [][]byte{make([]byte, 512)}, 0, unix.RWF_NOWAIT)
			refuses := errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAGAIN)
			var iocbs []*Iocb
			var want []byte
			for k := 0; k < 8; k++ {
				b := bytes.Repeat([]byte{byte(k + 1)}, 8192)
				want = append(want, b...)
				iocbs = append(iocbs, &Iocb{Op: OpPWrite, Fd: int(f.Fd()), Buf: b, Offset: int64(k) * 8192})
			}
			if n, err := c.Submit(iocbs...); n != len(iocbs) {
				t.Fatalf("Submit %d: %v", n, err)
			}
			deferred := c.Stats().Deferred
			switch {
			case e == EngineRetry && refuses && deferred != uint64(len(iocbs)):
				t.Fatalf("retry deferred %d of %d writes", deferred, len(iocbs))
			case e != EngineRetry && deferred != 0:
				t.Fatalf("%v deferred %d writes: it has no deferral", e, deferred)
			}
			evs := make([]Event, len(iocbs))
			for got := 0; got < len(iocbs); {
				n, err := c.GetEvents(len(iocbs)-got, evs[got:], 10*time.Second)
				if err != nil || n == 0 {
					t.Fatalf("GetEvents after %d: %v", got, err)
				}
				got += n
			}
			for _, ev := range evs {
				if ev.Res != 8192 {
					t.Fatalf("write: %+v", ev)
				}
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("file differs from what was written: %v", err)
			}
		})
	}
}
