//go:build linux

package kaio_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/cmdtest"
	"golang.org/x/sys/unix"
)

// TestFileSystemFull: writes past the end of a full file system (a 1 MiB
// tmpfs) end as the kernel ends them, on every engine. Through the
// Context: one event per iocb, each a whole write, a short one or
// -ENOSPC, and no more bytes than the file system holds. Through a File:
// WriteAt returns what it wrote and an *os.PathError matching ENOSPC; the
// file then holds exactly those bytes, and later calls still work.
func TestFileSystemFull(t *testing.T) {
	const capacity = 1 << 20
	dir := cmdtest.Tmpfs(t, capacity)
	onEachEngine(t, 64, func(t *testing.T, c *kaio.Context) {
		p := filepath.Join(dir, "full-"+t.Name()[len("TestFileSystemFull/"):])
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		defer f.Close()
		const rec, nrec = 64 << 10, 32 // 2 MiB: twice what fits
		buf := make([]byte, rec)
		iocbs := make([]*kaio.Iocb, nrec)
		for i := range iocbs {
			iocbs[i] = &kaio.Iocb{Op: kaio.OpPWrite, Fd: int(f.Fd()), Buf: buf, Offset: int64(i) * rec}
		}
		if n, err := c.Submit(iocbs...); n != nrec || err != nil {
			t.Fatalf("Submit: %d, %v", n, err)
		}
		evs := make([]kaio.Event, nrec)
		if n, err := c.GetEvents(nrec, evs, -1); n != nrec || err != nil {
			t.Fatalf("GetEvents: %d, %v", n, err)
		}
		var written int64
		full := 0
		for _, ev := range evs {
			switch {
			case ev.Res >= 0 && ev.Res <= rec:
				written += ev.Res
			case errors.Is(ev.Err(), unix.ENOSPC):
				full++
			default:
				t.Errorf("event %+v: want a write of at most %d bytes or -ENOSPC", ev, rec)
			}
		}
		if written > capacity || full == 0 {
			t.Errorf("%d bytes written, %d writes refused with ENOSPC: want at most %d bytes and some refused", written, full, capacity)
		}
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}

		kf, err := kaio.OpenFile(p, os.O_RDWR, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 2*capacity)
		n, err := kf.WriteAt(big, 0)
		var pe *fs.PathError
		if n >= len(big) || !errors.Is(err, unix.ENOSPC) || !errors.As(err, &pe) || pe.Op != "write" || pe.Path != p {
			t.Fatalf("WriteAt of %d bytes on a full file system: %d, %v; want fewer bytes and a *PathError write %s: ENOSPC", len(big), n, err, p)
		}
		if fi, err := kf.Stat(); err != nil || fi.Size() != int64(n) {
			t.Fatalf("after WriteAt wrote %d bytes: Stat %v, %v", n, fi, err)
		}
		if err := kf.Truncate(0); err != nil {
			t.Fatalf("Truncate after ENOSPC: %v", err)
		}
		if n, err := kf.WriteAt(buf[:4096], 0); n != 4096 || err != nil {
			t.Fatalf("WriteAt once there is room again: %d, %v", n, err)
		}
		if err := kf.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
