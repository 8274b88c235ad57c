//go:build linux

package retry

import (
	"bytes"
	"runtime"
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// aioUsable skips the test when this process cannot set up a Linux AIO
// context (ENOSYS, a seccomp filter, fs.aio-max-nr).
func aioUsable(t *testing.T) {
	t.Helper()
	ctx, _, err := linuxaio.Setup(1)
	if err != nil {
		t.Skipf("Linux AIO not usable here: %v", err)
	}
	linuxaio.Destroy(ctx)
}

func aligned(n int) []byte {
	b := make([]byte, n+4096)
	off := int((4096 - uintptr(unsafe.Pointer(&b[0]))%4096) % 4096)
	return b[off : off+n : off+n]
}

// TestDirectGoesToLinuxAIO: O_DIRECT reads and writes, and fsyncs, go to
// Linux AIO (Stats.LinuxAIO) with the collector running while the kernel
// has the buffers, and come back with the right data; with NoLinuxAIO they
// go to the offload workers.
func TestDirectGoesToLinuxAIO(t *testing.T) {
	aioUsable(t)
	for _, noAIO := range []bool{false, true} {
		c := newCtx(t, 64, Config{NoLinuxAIO: noAIO})
		f := file(t, 1<<20, unix.O_DIRECT)
		fd := int(f.Fd())
		const n = 32
		w := aligned(n * 4096)
		for i := range w {
			w[i] = byte(i*7 + 3)
		}
		var iocbs []*core.Iocb
		for i := 0; i < n; i++ {
			iocbs = append(iocbs, &core.Iocb{Op: core.OpPWrite, Fd: fd, Buf: w[i*4096 : (i+1)*4096], Offset: int64(i) * 4096})
		}
		if k, err := c.Submit(iocbs); k != n {
			t.Fatalf("Submit: %d, %v", k, err)
		}
		runtime.GC()
		for _, ev := range reapN(t, c, n) {
			if ev.Res != 4096 {
				t.Fatalf("O_DIRECT write: %+v", ev)
			}
		}
		if k, err := c.Submit([]*core.Iocb{{Op: core.OpFDSync, Fd: fd}}); k != 1 {
			t.Fatalf("Submit fdatasync: %v", err)
		}
		if ev := reapN(t, c, 1)[0]; ev.Res != 0 {
			t.Fatalf("fdatasync: %+v", ev)
		}
		r := aligned(n * 4096)
		if k, err := c.Submit([]*core.Iocb{{Op: core.OpPReadv, Fd: fd, Iov: [][]byte{r[:4096], r[4096:]}}}); k != 1 {
			t.Fatalf("Submit readv: %v", err)
		}
		runtime.GC()
		if ev := reapN(t, c, 1)[0]; ev.Res != int64(len(r)) || !bytes.Equal(r, w) {
			t.Fatalf("O_DIRECT readv: %+v, data equal %v", ev, bytes.Equal(r, w))
		}
		s := c.Stats()
		want := uint64(n + 2)
		if noAIO && (s.LinuxAIO != 0 || s.Offloaded < want) || !noAIO && (s.LinuxAIO != want || s.Offloaded != 0) {
			t.Fatalf("NoLinuxAIO %v: %d requests, stats %+v", noAIO, want, s)
		}
	}
}

// TestDirectDestroyInFlight: Destroy with O_DIRECT requests in the kernel
// waits for them (the kernel cannot cancel them) and returns.
func TestDirectDestroyInFlight(t *testing.T) {
	aioUsable(t)
	c, err := New(64, Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := file(t, 8<<20, unix.O_DIRECT)
	var iocbs []*core.Iocb
	for i := 0; i < 64; i++ {
		iocbs = append(iocbs, &core.Iocb{Op: core.OpPRead, Fd: int(f.Fd()), Buf: aligned(128 << 10), Offset: int64(i%64) * (128 << 10)})
	}
	if k, err := c.Submit(iocbs); k != len(iocbs) {
		t.Fatalf("Submit: %d, %v", k, err)
	}
	if err := c.Cancel(iocbs[63]); err != nil && err != unix.EAGAIN && err != unix.EINVAL {
		t.Fatalf("Cancel of an O_DIRECT read in the kernel: %v, want EAGAIN (or EINVAL if it is done)", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.InFlight != 0 || s.Completed != s.Submitted {
		t.Fatalf("after Destroy: %+v", s)
	}
}
