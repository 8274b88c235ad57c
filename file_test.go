//go:build linux

package kaio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// fileEngines are the engines every File test runs on.
var fileEngines = []kaio.Engine{kaio.EngineRetry, kaio.EngineURing, kaio.EngineNative}

// onEachEngine runs fn once per engine, on a Context of nr slots of that
// engine (destroyed when the subtest ends), skipping engines Probe says
// are not usable here.
func onEachEngine(t *testing.T, nr int, fn func(t *testing.T, c *kaio.Context)) {
	t.Helper()
	for _, e := range fileEngines {
		t.Run(e.String(), func(t *testing.T) {
			usable(t, e)
			c, err := kaio.Setup(nr, kaio.WithEngine(e))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Destroy() })
			fn(t, c)
		})
	}
}

// patterned returns n bytes that differ from block to block and from seed
// to seed.
func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i/4096)*7 + byte(i) + seed
	}
	return b
}

// writeTemp writes data to a new file in dir and returns its path.
func writeTemp(t *testing.T, dir string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// directDir is a directory on a file system that takes O_DIRECT (tmpfs
// does not), or the test is skipped.
func directDir(t *testing.T) string {
	t.Helper()
	d := findDirectDir(t)
	if d == "" {
		t.Skip("no file system here takes O_DIRECT")
	}
	return d
}

// findDirectDir is a directory, removed when tb ends, on a file system that
// takes O_DIRECT: a temporary directory, else one under /var/tmp; "" if
// neither does.
func findDirectDir(tb testing.TB) string {
	tb.Helper()
	for _, parent := range []string{"", "/var/tmp"} {
		d := tb.TempDir()
		if parent != "" {
			var err error
			if d, err = os.MkdirTemp(parent, "kaio-test"); err != nil {
				continue
			}
			tb.Cleanup(func() { os.RemoveAll(d) })
		}
		f, err := os.OpenFile(filepath.Join(d, "probe"), os.O_CREATE|os.O_RDWR|syscall.O_DIRECT, 0o600)
		if err == nil {
			f.Close()
			return d
		}
	}
	return ""
}

// uncache writes back and drops p's pages from the page cache, so that
// reads of it go through the ring rather than inline.
func uncache(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Sync()
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// eachCacheState opens p on c twice, with p in the page cache and then
// with it dropped, and runs fn on each File, which it closes after.
func eachCacheState(t *testing.T, c *kaio.Context, p string, fn func(f *kaio.File, cached bool)) {
	t.Helper()
	for _, cached := range []bool{true, false} {
		if !cached {
			uncache(t, p)
		}
		f, err := kaio.Open(p, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		fn(f, cached)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// newPipe makes a pipe and returns its read end as a File on c and its
// write end, which is closed when t ends if the test did not close it.
func newPipe(t *testing.T, c *kaio.Context) (*kaio.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	pr, err := kaio.NewFile(r, kaio.OnContext(c))
	if err != nil {
		t.Fatal(err)
	}
	return pr, w
}

// openTemp opens a new file name on c, read-write, with O_DIRECT on a
// file system that takes it when direct; it is closed when t ends.
func openTemp(t *testing.T, c *kaio.Context, name string, direct bool) (*kaio.File, string) {
	t.Helper()
	dir, flag := dirFlag(t, direct)
	p := filepath.Join(dir, name)
	f, err := kaio.OpenFile(p, flag, 0o600, kaio.OnContext(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, p
}

// dirFlag is where a test's file goes and the flags to open it with:
// read-write, created, and O_DIRECT on a file system that takes it when
// direct.
func dirFlag(t *testing.T, direct bool) (string, int) {
	if direct {
		return directDir(t), os.O_CREATE | os.O_RDWR | syscall.O_DIRECT
	}
	return t.TempDir(), os.O_CREATE | os.O_RDWR
}

// blockedRead starts a Read, on a File over the read end of a new pipe,
// that waits for data that never comes (the write end stays open until the
// test ends), and returns the File and where the Read's error will go once
// the request is in flight on c.
func blockedRead(t *testing.T, c *kaio.Context) (*kaio.File, <-chan error) {
	t.Helper()
	pr, _ := newPipe(t, c)
	done := make(chan error, 1)
	go func() {
		_, err := pr.Read(make([]byte, 10))
		done <- err
	}()
	waitInFlight(t, c, 1)
	return pr, done
}

func TestFileIOContracts(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		data := patterned(100_000, 3)
		p := writeTemp(t, t.TempDir(), data)
		eachCacheState(t, c, p, func(f *kaio.File, cached bool) {
			// Read, ReadAt and Seek, as io.Reader, io.ReaderAt and
			// io.Seeker say.
			if err := iotest.TestReader(f, data); err != nil {
				t.Errorf("cached=%v: %v", cached, err)
			}
			if err := iotest.TestReader(io.NewSectionReader(f, 10_000, 50_000), data[10_000:60_000]); err != nil {
				t.Errorf("section: %v", err)
			}
		})

		// io.Writer and io.WriterAt, then back through io.Reader.
		w, err := kaio.OpenFile(filepath.Join(t.TempDir(), "w"), os.O_CREATE|os.O_RDWR, 0o600, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if n, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(data))); n != int64(len(data)) || err != nil {
			t.Fatalf("io.Copy to a File: %d, %v", n, err)
		}
		if n, err := w.WriteAt([]byte("overwritten"), 500); n != 11 || err != nil {
			t.Fatalf("WriteAt: %d, %v", n, err)
		}
		copy(data[500:], "overwritten")
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(iotest.OneByteReader(w))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes (%v), want %d, equal %v", len(got), err, len(data), bytes.Equal(got, data))
		}
	})
}

func TestFileEOF(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		data := patterned(5000, 1)
		p := writeTemp(t, t.TempDir(), data)
		eachCacheState(t, c, p, func(f *kaio.File, cached bool) {
			for _, tc := range []struct {
				off, len int
				n        int
				err      error
			}{
				{0, 5000, 5000, nil},
				{0, 8192, 5000, io.EOF},
				{4000, 2000, 1000, io.EOF},
				{5000, 10, 0, io.EOF},
				{1 << 20, 10, 0, io.EOF},
				{100, 0, 0, nil},
			} {
				buf := make([]byte, tc.len)
				n, err := f.ReadAt(buf, int64(tc.off))
				if n != tc.n || err != tc.err {
					t.Errorf("cached=%v ReadAt(%d bytes at %d) = %d, %v; want %d, %v", cached, tc.len, tc.off, n, err, tc.n, tc.err)
				}
				if n > 0 && !bytes.Equal(buf[:n], data[tc.off:tc.off+n]) {
					t.Errorf("ReadAt(%d bytes at %d): wrong data", tc.len, tc.off)
				}
			}
			// Read: what there is, then 0, io.EOF.
			buf := make([]byte, 3000)
			for i, want := range []int{3000, 2000, 0} {
				n, err := f.Read(buf)
				wantErr := error(nil)
				if want == 0 {
					wantErr = io.EOF
				}
				if n != want || err != wantErr {
					t.Errorf("Read %d: %d, %v; want %d, %v", i, n, err, want, wantErr)
				}
			}
		})
	})
}

// pathErr checks that err is an *os.PathError for op on name that matches
// want with errors.Is.
func pathErr(t *testing.T, what string, err error, op, name string, want error) {
	t.Helper()
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Errorf("%s: %v (%T), want an *os.PathError", what, err, err)
		return
	}
	if pe.Op != op || pe.Path != name || !errors.Is(err, want) {
		t.Errorf("%s: %v, want op %q, path %q, matching %v", what, err, op, name, want)
	}
}

func TestFileErrors(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		on := kaio.OnContext(c)
		dir := t.TempDir()
		missing := filepath.Join(dir, "missing")
		_, err := kaio.Open(missing, on)
		pathErr(t, "Open of a missing file", err, "open", missing, fs.ErrNotExist)
		_, err = kaio.OpenFile(dir, os.O_RDWR, 0, on)
		pathErr(t, "OpenFile of a directory for writing", err, "open", dir, unix.EISDIR)
		if _, err := kaio.NewFile(nil, on); err == nil {
			t.Error("NewFile(nil) succeeded")
		}

		p := writeTemp(t, dir, patterned(8192, 0))
		ro, err := kaio.Open(p, on)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ro.WriteAt([]byte("x"), 0)
		pathErr(t, "WriteAt on a read-only file", err, "write", p, unix.EBADF)
		_, err = ro.Write([]byte("x"))
		pathErr(t, "Write on a read-only file", err, "write", p, unix.EBADF)
		_, err = ro.ReadAt(make([]byte, 1), -1)
		pathErr(t, "ReadAt at a negative offset", err, "read", p, unix.EINVAL)
		_, err = ro.Seek(0, 42)
		pathErr(t, "Seek with a bad whence", err, "seek", p, unix.EINVAL)
		_, err = ro.Seek(-1, io.SeekStart)
		pathErr(t, "Seek before the start", err, "seek", p, unix.EINVAL)

		wo, err := kaio.OpenFile(p, os.O_WRONLY, 0, on)
		if err != nil {
			t.Fatal(err)
		}
		_, err = wo.ReadAt(make([]byte, 1), 0)
		pathErr(t, "ReadAt on a write-only file", err, "read", p, unix.EBADF)
		_, err = wo.WriteAt([]byte("x"), -1)
		pathErr(t, "WriteAt at a negative offset", err, "write", p, unix.EINVAL)
		wo.Close()

		ap, err := kaio.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0, on)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ap.WriteAt([]byte("x"), 0)
		pathErr(t, "WriteAt on an O_APPEND file", err, "write", p, unix.EINVAL)
		ap.Close()

		pr, w := newPipe(t, c)
		_, err = pr.ReadAt(make([]byte, 1), 0)
		pathErr(t, "ReadAt on a pipe", err, "read", pr.Name(), unix.ESPIPE)
		_, err = pr.Seek(0, io.SeekStart)
		pathErr(t, "Seek on a pipe", err, "seek", pr.Name(), unix.ESPIPE)
		w.Close()
		if n, err := pr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("Read of a pipe with no writer: %d, %v; want 0, io.EOF", n, err)
		}
		pr.Close()

		// After Close, every call says os.ErrClosed.
		if err := ro.Close(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		_, err = ro.ReadAt(buf, 0)
		pathErr(t, "ReadAt after Close", err, "read", p, os.ErrClosed)
		_, err = ro.ReadAtContext(t.Context(), buf, 0)
		pathErr(t, "ReadAtContext after Close", err, "read", p, os.ErrClosed)
		_, err = ro.WriteAt(buf, 0)
		pathErr(t, "WriteAt after Close", err, "write", p, os.ErrClosed)
		_, err = ro.WriteAtContext(t.Context(), buf, 0)
		pathErr(t, "WriteAtContext after Close", err, "write", p, os.ErrClosed)
		_, err = ro.Read(buf)
		pathErr(t, "Read after Close", err, "read", p, os.ErrClosed)
		_, err = ro.Write(buf)
		pathErr(t, "Write after Close", err, "write", p, os.ErrClosed)
		_, err = ro.Seek(0, io.SeekStart)
		pathErr(t, "Seek after Close", err, "seek", p, os.ErrClosed)
		pathErr(t, "Sync after Close", ro.Sync(), "sync", p, os.ErrClosed)
		pathErr(t, "Datasync after Close", ro.Datasync(), "sync", p, os.ErrClosed)
		pathErr(t, "Truncate after Close", ro.Truncate(0), "truncate", p, os.ErrClosed)
		_, err = ro.Stat()
		pathErr(t, "Stat after Close", err, "stat", p, os.ErrClosed)
		pathErr(t, "Close after Close", ro.Close(), "close", p, os.ErrClosed)
		if fd := ro.Fd(); fd != ^uintptr(0) {
			t.Errorf("Fd after Close: %d", fd)
		}
		if ro.Name() != p {
			t.Errorf("Name after Close: %q", ro.Name())
		}
	})
}

func TestFileSeekWriteTruncateStat(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		p := filepath.Join(t.TempDir(), "f")
		f, err := kaio.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if n, err := f.Write([]byte("hello, world")); n != 12 || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
		for _, tc := range []struct {
			off    int64
			whence int
			want   int64
		}{{0, io.SeekCurrent, 12}, {-5, io.SeekCurrent, 7}, {0, io.SeekEnd, 12}, {3, io.SeekStart, 3}, {100, io.SeekEnd, 112}} {
			if got, err := f.Seek(tc.off, tc.whence); got != tc.want || err != nil {
				t.Errorf("Seek(%d, %d) = %d, %v; want %d", tc.off, tc.whence, got, err, tc.want)
			}
		}
		f.Seek(7, io.SeekStart)
		f.Write([]byte("gophers"))
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := f.Datasync(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != "hello, gophers" {
			t.Fatalf("file holds %q", got)
		}
		if err := f.Truncate(5); err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil || st.Size() != 5 || st.Name() != "f" {
			t.Fatalf("Stat: %v, %v", st, err)
		}
		if f.Name() != p || f.Fd() == ^uintptr(0) {
			t.Fatalf("Name %q, Fd %d", f.Name(), f.Fd())
		}

		// O_APPEND: Write goes to the end, and the offset with it.
		a, err := kaio.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		a.Write([]byte("!!"))
		if pos, _ := a.Seek(0, io.SeekCurrent); pos != 7 {
			t.Errorf("offset after an append: %d, want 7", pos)
		}
		if got, _ := os.ReadFile(p); string(got) != "hello!!" {
			t.Fatalf("after append: %q", got)
		}
	})
}

func TestFileDirect(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		f, p := openTemp(t, c, "direct", true)
		const size = 256 << 10
		out := kaio.AlignedBuffer(size)
		copy(out, patterned(size, 9))
		if n, err := f.WriteAt(out, 0); n != size || err != nil {
			t.Fatalf("WriteAt: %d, %v", n, err)
		}
		in := kaio.AlignedBuffer(size)
		if n, err := f.ReadAt(in, 0); n != size || err != nil || !bytes.Equal(in, out) {
			t.Fatalf("ReadAt: %d, %v, equal %v", n, err, bytes.Equal(in, out))
		}
		// A read that runs past the end: n < len(p), with io.EOF.
		big := kaio.AlignedBuffer(size + 8192)
		if n, err := f.ReadAt(big, 0); n != size || err != io.EOF || !bytes.Equal(big[:size], out) {
			t.Fatalf("ReadAt past the end: %d, %v", n, err)
		}
		// Through the offset.
		f.Seek(4096, io.SeekStart)
		if n, err := f.Read(in[:8192]); n != 8192 || err != nil || !bytes.Equal(in[:8192], out[4096:4096+8192]) {
			t.Fatalf("Read: %d, %v", n, err)
		}
		// Unaligned memory, offset or length: EINVAL, as the kernel says.
		_, err := f.ReadAt(in[1:4097], 0)
		pathErr(t, "ReadAt into unaligned memory", err, "read", p, unix.EINVAL)
		_, err = f.ReadAt(in[:4096], 1)
		pathErr(t, "ReadAt at an unaligned offset", err, "read", p, unix.EINVAL)
		_, err = f.WriteAt(out[:100], 0)
		pathErr(t, "WriteAt of an unaligned length", err, "write", p, unix.EINVAL)
	})
}

// TestFileDirectFlagChanged: once its fd is handed out (Fd), a File reads
// the fd's flags at every submission, so O_DIRECT turned off or on with
// fcntl after the File was made is seen: an unaligned read then works, or
// is EINVAL, as the kernel says for the fd as it is now.
func TestFileDirectFlagChanged(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		const size = 64 << 10
		want := patterned(size, 5)
		setDirect := func(f *kaio.File, on bool) {
			t.Helper()
			fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
			if err == nil {
				if on {
					fl |= unix.O_DIRECT
				} else {
					fl &^= unix.O_DIRECT
				}
				_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, fl)
			}
			if err != nil {
				t.Fatalf("fcntl O_DIRECT %v: %v", on, err)
			}
		}

		f, _ := openTemp(t, c, "was-direct", true)
		out := kaio.AlignedBuffer(size)
		copy(out, want)
		if n, err := f.WriteAt(out, 0); n != size || err != nil {
			t.Fatalf("WriteAt: %d, %v", n, err)
		}
		setDirect(f, false)
		in := make([]byte, size+1)[1:] // unaligned: fine without O_DIRECT
		for i := 0; i < 3; i++ {
			if n, err := f.ReadAt(in[:4000], 100); n != 4000 || err != nil || !bytes.Equal(in[:4000], want[100:4100]) {
				t.Fatalf("unaligned ReadAt after O_DIRECT was cleared: %d, %v", n, err)
			}
		}

		// A buffered File on a file system that takes O_DIRECT. Its first
		// buffered write finds out that ext4 refuses RWF_NOWAIT for
		// writes, so its later writes go through the ring, where Submit
		// must see the new flag and the file's O_DIRECT alignment.
		q := filepath.Join(directDir(t), "now-direct")
		g, err := kaio.OpenFile(q, os.O_CREATE|os.O_RDWR, 0o600, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if n, err := g.WriteAt(want, 0); n != size || err != nil {
			t.Fatalf("WriteAt: %d, %v", n, err)
		}
		g.Sync()
		setDirect(g, true)
		uncache(t, q)
		_, err = g.ReadAt(in[:4000], 100)
		pathErr(t, "unaligned ReadAt after O_DIRECT was set", err, "read", q, unix.EINVAL)
		_, err = g.WriteAt(in[:4000], 100)
		pathErr(t, "unaligned WriteAt after O_DIRECT was set", err, "write", q, unix.EINVAL)
		al := kaio.AlignedBuffer(8192)
		copy(al, want[8192:])
		if n, err := g.WriteAt(al, 8192); n != 8192 || err != nil {
			t.Fatalf("aligned WriteAt after O_DIRECT was set: %d, %v", n, err)
		}
		clear(al)
		if n, err := g.ReadAt(al, 8192); n != 8192 || err != nil || !bytes.Equal(al, want[8192:8192+8192]) {
			t.Fatalf("aligned ReadAt after O_DIRECT was set: %d, %v", n, err)
		}
	})
}

// TestFileFdClosedBehind: a user who closes the File's fd himself gets
// EBADF from the calls after, through the ring as inline, on every
// engine: the lookup the File made at open does not stand in for the fd
// being open (Submit still reads its flags).
func TestFileFdClosedBehind(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		for _, direct := range []bool{false, true} {
			f, p := openTemp(t, c, fmt.Sprintf("closed-behind-%v", direct), direct)
			buf := kaio.AlignedBuffer(4096)
			if n, err := f.WriteAt(buf, 0); n != 4096 || err != nil {
				t.Fatalf("WriteAt: %d, %v", n, err)
			}
			if err := unix.Close(int(f.Fd())); err != nil {
				t.Fatal(err)
			}
			_, err := f.ReadAt(buf, 0)
			pathErr(t, "ReadAt on a closed fd", err, "read", p, unix.EBADF)
			_, err = f.WriteAt(buf, 0)
			pathErr(t, "WriteAt on a closed fd", err, "write", p, unix.EBADF)
			err = f.Sync()
			pathErr(t, "Sync on a closed fd", err, "sync", p, unix.EBADF)
			// Put a descriptor of the file back under the number, before
			// anything else takes it, for the File's Close to close.
			fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fd != int(f.Fd()) {
				if err := unix.Dup3(fd, int(f.Fd()), unix.O_CLOEXEC); err != nil {
					t.Fatal(err)
				}
				unix.Close(fd)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	})
}

func TestAlignedBuffer(t *testing.T) {
	for _, size := range []int{1, 511, 512, 4095, 4096, 4097, 65536, 1 << 20} {
		b := kaio.AlignedBuffer(size)
		if len(b) != size || cap(b) != size {
			t.Errorf("AlignedBuffer(%d): len %d cap %d", size, len(b), cap(b))
		}
		if addr := bufAddr(b); addr%4096 != 0 {
			t.Errorf("AlignedBuffer(%d) at %#x: not 4096-aligned", size, addr)
		}
	}
	if kaio.AlignedBuffer(0) != nil || kaio.AlignedBuffer(-1) != nil {
		t.Error("AlignedBuffer of a size <= 0 is not nil")
	}
}

func TestFileStream(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		pr, w := newPipe(t, c)
		pw, err := kaio.NewFile(w, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		msg := patterned(200_000, 5) // more than a pipe holds: the write waits for the reader
		go func() {
			pw.Write(msg)
			pw.Close()
		}()
		got, err := io.ReadAll(pr)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("read %d bytes through a pipe (%v), want %d", len(got), err, len(msg))
		}

		// Close ends a Read that waits for data that will never come.
		pr2, done := blockedRead(t, c)
		if err := pr2.Close(); err != nil {
			t.Fatal(err)
		}
		pathErr(t, "a Read that Close ended", <-done, "read", pr2.Name(), os.ErrClosed)
		if s := c.Stats(); s.InFlight != 0 {
			t.Fatalf("after Close: %+v", s)
		}
	})
}

func TestFileInlineCachedReads(t *testing.T) {
	onEachEngine(t, 8, func(t *testing.T, c *kaio.Context) {
		data := patterned(1<<20, 2)
		p := writeTemp(t, t.TempDir(), data)
		f, err := kaio.Open(p, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 4096)
		if _, err := unix.Preadv2(int(f.Fd()), [][]byte{buf}, 0, unix.RWF_NOWAIT); err == unix.ENOSYS {
			// Linux before 4.6, or qemu-user (CI's s390x run): every
			// read goes through the ring.
			t.Skip("preadv2 is missing here (ENOSYS): no inline reads")
		}
		before := c.Stats().Submitted
		for off := int64(0); off < int64(len(data)); off += 4096 {
			if _, err := f.ReadAt(buf, off); err != nil {
				t.Fatal(err)
			}
		}
		if s := c.Stats().Submitted - before; s != 0 {
			t.Errorf("%d page-cached reads went through the ring", s)
		}
		// Dropped from the cache, the data is read through the ring,
		// mostly: a RWF_NOWAIT miss starts readahead, which a fast disk
		// may finish before the call answers, so how many is the
		// kernel's to say.
		uncache(t, p)
		for off := int64(0); off < int64(len(data)); off += 4096 {
			if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, data[off:off+4096]) {
				t.Fatalf("ReadAt(%d): %v", off, err)
			}
		}
		t.Logf("%d of %d reads of uncached data went through the ring", c.Stats().Submitted-before, len(data)/4096)
	})
}

func TestFileSharedContext(t *testing.T) {
	data := patterned(10_000, 4)
	p := writeTemp(t, t.TempDir(), data)
	f, err := kaio.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := kaio.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c := kaio.FileContext(f)
	if c != kaio.FileContext(g) {
		t.Fatal("two Files opened without OnContext run on different Contexts")
	}
	if c.Engine() == kaio.EngineAuto {
		t.Fatal("the shared Context's engine is auto, not the one chosen")
	}
	uncache(t, p)
	got := make([]byte, len(data))
	if n, err := f.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
}

// TestFileDestroyedContext: Files whose Context is destroyed under them
// fail their calls (ECANCELED for those in flight) instead of hanging.
func TestFileDestroyedContext(t *testing.T) {
	for _, e := range fileEngines {
		t.Run(e.String(), func(t *testing.T) {
			usable(t, e)
			c, err := kaio.Setup(8, kaio.WithEngine(e))
			if err != nil {
				t.Fatal(err)
			}
			pr, done := blockedRead(t, c)
			defer pr.Close()
			c.Destroy()
			if err := <-done; !errors.Is(err, unix.ECANCELED) {
				t.Fatalf("a Read in flight at Destroy: %v, want ECANCELED", err)
			}
			if _, err := pr.Read(make([]byte, 10)); err == nil {
				t.Fatal("a Read after Destroy succeeded")
			}
		})
	}
}

func TestFileAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates for its own bookkeeping; CI checks allocations in its build without -race")
	}
	onEachEngine(t, 64, func(t *testing.T, c *kaio.Context) {
		data := patterned(1<<20, 6)
		p := writeTemp(t, t.TempDir(), data)
		f, err := kaio.OpenFile(p, os.O_RDWR, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 4096)
		off := int64(0)
		cases := []struct {
			name string
			fn   func()
		}{
			{"cached ReadAt", func() { f.ReadAt(buf, 8192) }},
			{"uncached ReadAt", func() {
				unix.Fadvise(int(f.Fd()), off, 4096, unix.FADV_DONTNEED)
				f.ReadAt(buf, off)
				off = (off + 4096) % int64(len(data))
			}},
			{"WriteAt", func() { f.WriteAt(buf, 4096) }},
			{"ReadAtContext", func() { f.ReadAtContext(t.Context(), buf, 8192) }},
			{"Sync", func() { f.Datasync() }},
		}
		dir := directDir(t)
		dp := filepath.Join(dir, "direct")
		if err := os.WriteFile(dp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := kaio.OpenFile(dp, os.O_RDWR|syscall.O_DIRECT, 0, kaio.OnContext(c))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		abuf := kaio.AlignedBuffer(4096)
		cases = append(cases, struct {
			name string
			fn   func()
		}{"O_DIRECT ReadAt", func() { d.ReadAt(abuf, 8192) }}, struct {
			name string
			fn   func()
		}{"O_DIRECT WriteAt", func() { d.WriteAt(abuf, 4096) }})
		for _, tc := range cases {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("%s: %v allocations per call", tc.name, n)
			}
		}
	})
}

// TestFileHintPrivate: Submit looks nothing up for a File whose descriptor
// nobody else holds (OpenFile's, until Fd hands it out), since nothing can
// change its flags; it reads the flags again for one made by NewFile, whose
// caller keeps the os.File that shares the File's open file description,
// and for one whose Fd was called.
func TestFileHintPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := kaio.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !kaio.FileHintPrivate(f) {
		t.Error("OpenFile's File: Submit looks its fd up")
	}
	if n, err := f.WriteAt([]byte("kaio"), 0); n != 4 || err != nil {
		t.Fatalf("WriteAt: %d, %v", n, err)
	}
	f.Fd()
	if kaio.FileHintPrivate(f) {
		t.Error("after Fd: Submit does not read the flags again")
	}
	o, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	g, err := kaio.NewFile(o)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if kaio.FileHintPrivate(g) {
		t.Error("NewFile's File: Submit does not read the flags again")
	}
	buf := make([]byte, 4)
	if n, err := g.ReadAt(buf, 0); n != 4 || err != nil || string(buf) != "kaio" {
		t.Fatalf("ReadAt: %d, %v, %q", n, err, buf)
	}
}
