//go:build !linux

package kaio

import (
	"context"
	"os"
	"sync/atomic"
)

// File is an open file whose methods any number of goroutines may call at
// once. On Linux its reads and writes run through a Context, batched onto
// one ring; here, where kaio has no engine, a File is its os.File: every
// method is the os.File method of the same name, with the same results
// and errors, so that a program written for kaio.File builds and runs on
// every platform Go does. What differs from Linux: a blocked call holds an
// OS thread, as with os.File; ReadAtContext and WriteAtContext look at
// their context only before the call (a positional read or write cannot
// be cancelled once in the kernel); Datasync is Sync; Fd is the
// descriptor or handle os.File has.
type File struct {
	f      *os.File
	fd     uintptr
	closed atomic.Bool
}

// forgetFileRing has nothing to forget: here no File runs on a Context.
func forgetFileRing(*Context) {}

// NewFile makes a File of f, which it takes over: the File's Close closes
// f, and f should not be used directly any more. On an error f is still
// the caller's. Here OnContext has no Context to run on (Setup fails with
// errors.ErrUnsupported), so a File given one is refused with that error.
func NewFile(f *os.File, opts ...FileOption) (*File, error) { return newFile(f, false, opts) }

// newFile is NewFile; here a File does its I/O through f itself, so
// whether anybody else holds f (private: OpenFile's) changes nothing.
func newFile(f *os.File, private bool, opts []FileOption) (*File, error) {
	if f == nil {
		return nil, &os.PathError{Op: "open", Err: os.ErrInvalid}
	}
	cfg := configure(opts)
	if cfg.ctx != nil {
		return nil, &os.PathError{Op: "open", Path: f.Name(), Err: errNoEngine}
	}
	kf := &File{f: f, fd: ^uintptr(0)}
	// Control, not Fd: Fd would make a non-blocking descriptor blocking.
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { kf.fd = fd })
	}
	return kf, nil
}

// ReadAt is os.File.ReadAt: io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	return f.f.ReadAt(p, off)
}

// WriteAt is os.File.WriteAt: io.WriterAt.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	return f.f.WriteAt(p, off)
}

// ReadAtContext is ReadAt if ctx has not ended when it is called, else
// ctx.Err(). Here the read cannot be cancelled once it has begun.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.ReadAt(p, off)
}

// WriteAtContext is WriteAt if ctx has not ended when it is called, else
// ctx.Err(). Here the write cannot be cancelled once it has begun.
func (f *File) WriteAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.WriteAt(p, off)
}

// Read is os.File.Read: io.Reader.
func (f *File) Read(p []byte) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	return f.f.Read(p)
}

// Write is os.File.Write: io.Writer.
func (f *File) Write(p []byte) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	return f.f.Write(p)
}

// Seek is os.File.Seek: io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	return f.f.Seek(offset, whence)
}

// Sync is os.File.Sync.
func (f *File) Sync() error {
	if f == nil {
		return os.ErrInvalid
	}
	return f.f.Sync()
}

// Datasync is Sync here: os.File offers no fdatasync, and a full sync
// commits at least as much.
func (f *File) Datasync() error { return f.Sync() }

// Truncate is os.File.Truncate.
func (f *File) Truncate(size int64) error {
	if f == nil {
		return os.ErrInvalid
	}
	return f.f.Truncate(size)
}

// Stat is os.File.Stat.
func (f *File) Stat() (os.FileInfo, error) {
	if f == nil {
		return nil, os.ErrInvalid
	}
	return f.f.Stat()
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.f.Name() }

// Fd returns the file descriptor (a handle on Windows), or ^uintptr(0)
// once the file is closed. Unlike os.File.Fd, it leaves the descriptor's
// blocking mode alone. It is valid only until Close.
func (f *File) Fd() uintptr {
	if f == nil || f.closed.Load() {
		return ^uintptr(0)
	}
	return f.fd
}

// Close is os.File.Close: calls after it return an error matching
// os.ErrClosed.
func (f *File) Close() error {
	if f == nil {
		return os.ErrInvalid
	}
	f.closed.Store(true)
	return f.f.Close()
}
