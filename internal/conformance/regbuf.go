//go:build linux

package conformance

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// regBufCases: RegisterBuffers and UnregisterBuffers answer alike on every
// engine, and I/O into and out of registered buffers (READ_FIXED and
// WRITE_FIXED on uring) moves the same bytes as any other.
var regBufCases = []Case{
	{"RegisterBuffers/Errors", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		wantErrno(t, "no buffers", c.RegisterBuffers(), unix.EINVAL)
		wantErrno(t, "an empty buffer", c.RegisterBuffers(make([]byte, 8), nil), unix.EINVAL)
		wantErrno(t, "unregister with nothing registered", c.UnregisterBuffers(), unix.ENXIO)
		b := make([]byte, 8192)
		if err := c.RegisterBuffers(b[:4096], b[4096:]); err != nil {
			if errors.Is(err, unix.ENOMEM) {
				t.Skipf("the kernel refused to pin the buffers: %v", err)
			}
			t.Fatalf("RegisterBuffers: %v", err)
		}
		wantErrno(t, "a second registration", c.RegisterBuffers(b), unix.EBUSY)
		if err := c.UnregisterBuffers(); err != nil {
			t.Fatalf("UnregisterBuffers: %v", err)
		}
		wantErrno(t, "unregister twice", c.UnregisterBuffers(), unix.ENXIO)
		if err := c.RegisterBuffers(b); err != nil {
			t.Fatalf("RegisterBuffers after UnregisterBuffers: %v", err)
		}
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "register on a destroyed context", c.RegisterBuffers(b), unix.EINVAL)
		wantErrno(t, "unregister on a destroyed context", c.UnregisterBuffers(), unix.EINVAL)
	}},
	{"RegisterBuffers/IO", func(t *testing.T, e *Env) {
		const rec, n = 4096, 8
		data := pattern(n*rec, 5)
		f := tempFile(t, data, 0)
		c := e.Setup(2 * n)
		reg := make([]byte, n*rec)
		if err := c.RegisterBuffers(reg); err != nil {
			if errors.Is(err, unix.ENOMEM) {
				t.Skipf("the kernel refused to pin the buffer: %v", err)
			}
			t.Fatalf("RegisterBuffers: %v", err)
		}
		// Reads into slices of the registered buffer, in reverse order.
		iocbs := make([]*kaio.Iocb, n)
		for i := range iocbs {
			iocbs[i] = &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: reg[i*rec : (i+1)*rec], Offset: int64((n - 1 - i) * rec), Data: uint64(i)}
		}
		submit(t, c, iocbs...)
		// Unregistering with the reads in flight leaves them their memory.
		if err := c.UnregisterBuffers(); err != nil {
			t.Fatalf("UnregisterBuffers with reads in flight: %v", err)
		}
		for _, ev := range reap(t, c, n) {
			if ev.Res != rec {
				t.Fatalf("read %d: res %d", ev.Data, ev.Res)
			}
		}
		for i := 0; i < n; i++ {
			if !bytes.Equal(reg[i*rec:(i+1)*rec], data[(n-1-i)*rec:(n-i)*rec]) {
				t.Fatalf("record %d: other bytes than the file's", i)
			}
		}
		// Writes out of a registered buffer, read back by plain pread.
		if err := c.RegisterBuffers(reg); err != nil {
			t.Fatalf("RegisterBuffers again: %v", err)
		}
		for i := range reg {
			reg[i] = ^reg[i]
		}
		for i := range iocbs {
			iocbs[i] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: int(f.Fd()), Buf: reg[i*rec : (i+1)*rec], Offset: int64(i * rec), Data: uint64(i)}
		}
		submit(t, c, iocbs...)
		for _, ev := range reap(t, c, n) {
			if ev.Res != rec {
				t.Fatalf("write %d: res %d", ev.Data, ev.Res)
			}
		}
		got := make([]byte, len(reg))
		if _, err := f.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, reg) {
			t.Fatal("the file holds other bytes than the registered buffer wrote")
		}
	}},
}
