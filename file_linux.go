//go:build linux

package kaio

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// File is an open file whose reads and writes run through a Context: the
// Go-shaped entry point to kaio. Any number of goroutines may call its
// methods at once; each call waits for its own result, as with os.File,
// while the calls of many goroutines go to the kernel together, batched
// onto one ring (docs/DESIGN.md §4b says how).
//
// A buffered read whose data is in the page cache completes on the calling
// goroutine with one preadv2(RWF_NOWAIT), without touching the ring. Other
// reads, O_DIRECT I/O, writes that cannot be done without waiting, and
// Sync go through the Context, and the calling goroutine sleeps until the
// completion wakes it: blocked I/O holds a goroutine, not an OS thread.
//
// Errors are *os.PathError with the op, the file's name and the errno, as
// os.File's are; ReadAt returns io.EOF, unwrapped, at the end of the file.
// With O_DIRECT, unaligned memory, offsets and lengths are EINVAL, checked
// before the kernel sees the call, as Submit checks them (where Linux may
// let some through: ext4 does unaligned O_DIRECT reads as buffered ones).
// The buffer of a read or write is handed to the kernel, so it escapes to
// the heap: allocate buffers once and reuse them (a local array would be
// allocated anew at every call).
type File struct {
	f        *os.File
	name     string
	fd       int
	dup      bool // fd is the File's own duplicate of f's (newFile)
	ring     *fileRing
	seekable bool // a regular file or a block device: ReadAt, WriteAt and Seek work
	// info is what Submit learns of fd, learnt once at open: the File
	// keeps fd open while any request on it is in flight, so Submit
	// need only read its flags again (core.FdInfo.Hint).
	info core.FdInfo
	// private is info marked Private: while the descriptor has not left
	// the File (out is false), nobody can change its flags, and Submit
	// makes no syscall to look at it at all.
	private core.FdInfo
	out     atomic.Bool // Fd was called, or the File was made by NewFile
	append  bool        // O_APPEND: WriteAt is refused, as os.File refuses it

	// Inline RWF_NOWAIT attempts are worth making: set at open for
	// buffered regular files, cleared for good when the kernel or the
	// file system refuses the flag (EOPNOTSUPP; buffered writes on ext4
	// do).
	rdNowait, wrNowait atomic.Bool

	// refs counts the calls under way on the file, plus closedBit once
	// Close has begun. closed carries one token, sent by the call that
	// brings the count to zero after Close began.
	refs   atomic.Uint64
	closed chan struct{}

	// posMu serialises Read, Write and Seek, and guards pos, the file
	// offset they use. ReadAt and WriteAt neither use nor move it.
	posMu sync.Mutex
	pos   int64
}

const closedBit = 1 << 63

// sharedRingSize is the shared Context's ring: the calls in flight at once
// before more wait their turn. Its memory (a few hundred KiB with io_uring)
// is made once per process.
const sharedRingSize = 4096

// shared is the process-wide Context Files use by default, made at first
// use with the engine auto chooses.
var shared struct {
	sync.Mutex
	c *Context
}

func sharedContext() (*Context, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.c == nil {
		c, err := Setup(sharedRingSize)
		if err != nil {
			return nil, err
		}
		shared.c = c
	}
	return shared.c, nil
}

// NewFile makes a File of f, which it takes over: the File's Close closes
// f, and f should not be used directly any more. On an error f is still
// the caller's. The File does its I/O through a duplicate of f's
// descriptor, so that closing f early, against this, cannot make it act
// on another file that gets the number.
func NewFile(f *os.File, opts ...FileOption) (*File, error) { return newFile(f, false, opts) }

// newFile is NewFile. The File's calls use a descriptor of its own, a
// duplicate of f's, unless f is private (OpenFile's, which nobody else
// can close): a caller that closes the f it gave NewFile, against its
// doc, must not let the number go to another file under the File, whose
// requests own their file.
func newFile(f *os.File, private bool, opts []FileOption) (*File, error) {
	if f == nil {
		return nil, &os.PathError{Op: "open", Err: unix.EBADF}
	}
	cfg := configure(opts)
	kf := &File{f: f, name: f.Name(), fd: -1, closed: make(chan struct{}, 1)}
	// NewFile's caller keeps f, whose open file description the File's
	// duplicate shares: fcntl F_SETFL on it changes the File's flags.
	kf.out.Store(!private)
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, kf.pathErr("open", err)
	}
	// Control, not Fd: Fd would make a non-blocking fd blocking.
	cerr := rc.Control(func(fd uintptr) {
		kf.fd = int(fd)
		if !private {
			kf.fd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
			kf.dup = err == nil
		}
	})
	if cerr != nil {
		return nil, kf.pathErr("open", os.ErrClosed)
	}
	if err != nil {
		return nil, kf.pathErr("open", err)
	}
	if err := kf.learn(); err != nil {
		kf.closeDup()
		return nil, kf.pathErr("open", err)
	}
	c := cfg.ctx
	if c == nil {
		if c, err = sharedContext(); err != nil {
			kf.closeDup()
			return nil, kf.pathErr("open", err)
		}
	}
	kf.ring = c.fileRing()
	return kf, nil
}

// closeDup closes the File's own descriptor, if it has one (newFile).
func (f *File) closeDup() {
	if f.dup {
		unix.Close(f.fd)
		f.dup = false
	}
}

// learn reads the fd's type and flags: what decides the paths a call
// takes.
func (f *File) learn() error {
	f.info.Reset()
	if err := core.LookFd(f.fd, &f.info); err != nil {
		return err
	}
	f.private = f.info
	f.private.Private = true
	fl := f.info.Flags
	f.seekable = f.info.Seekable()
	f.append = fl&unix.O_APPEND != 0
	// O_DIRECT I/O never completes inline: RWF_NOWAIT does not make it
	// asynchronous, it only fails it.
	inline := f.seekable && fl&unix.O_DIRECT == 0
	f.rdNowait.Store(inline)
	f.wrNowait.Store(inline)
	return nil
}

// hint is what Submit may take as known of f's fd (core.FdInfo.Hint): all
// of it while the descriptor has not left the File, else all but its
// flags, which fcntl F_SETFL may have changed.
func (f *File) hint() *core.FdInfo {
	if f.out.Load() {
		return &f.info
	}
	return &f.private
}

// acquire counts a call under way, so that Close waits for it; it fails
// once Close has begun.
func (f *File) acquire() bool {
	if f.refs.Add(1)&closedBit != 0 {
		f.release()
		return false
	}
	return true
}

// release ends what acquire began; the last call after Close began wakes
// Close.
func (f *File) release() {
	if f.refs.Add(^uint64(0)) == closedBit {
		select {
		case f.closed <- struct{}{}:
		default:
		}
	}
}

func (f *File) pathErr(op string, err error) error {
	return &os.PathError{Op: op, Path: f.name, Err: err}
}

// resErr turns a ring result into an error: ctx's error for a request
// cancelled because ctx ended, os.ErrClosed for one Close cancelled.
func (f *File) resErr(ctx context.Context, op string, res int64) error {
	if res == -int64(unix.ECANCELED) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if f.refs.Load()&closedBit != 0 {
			return f.pathErr(op, os.ErrClosed)
		}
	}
	return f.pathErr(op, unix.Errno(-res))
}

// ReadAt reads len(p) bytes at offset off, as io.ReaderAt says: n < len(p)
// only with an error, io.EOF at the end of the file. It does not use or
// move the file offset.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.readAt(context.Background(), p, off)
}

// ReadAtContext is ReadAt, ended early when ctx ends: the request is
// cancelled and ctx.Err() returned, with what was read before.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.readAt(ctx, p, off)
}

// WriteAt writes len(p) bytes at offset off, as io.WriterAt says: n <
// len(p) only with an error. It does not use or move the file offset, and
// is refused (EINVAL) on a file opened with O_APPEND, as os.File refuses
// it.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	return f.writeAt(context.Background(), p, off)
}

// WriteAtContext is WriteAt, ended early when ctx ends: the request is
// cancelled and ctx.Err() returned, with what was written before.
func (f *File) WriteAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return f.writeAt(ctx, p, off)
}

func (f *File) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	return f.at(ctx, OpPRead, p, off)
}

func (f *File) writeAt(ctx context.Context, p []byte, off int64) (int, error) {
	return f.at(ctx, OpPWrite, p, off)
}

// at is ReadAt or WriteAt (op OpPRead or OpPWrite).
func (f *File) at(ctx context.Context, op Op, p []byte, off int64) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	if !f.acquire() {
		return 0, f.pathErr(opName(op), os.ErrClosed)
	}
	var n int
	var err error
	if op == OpPWrite && f.append {
		err = f.pathErr("write", unix.EINVAL)
	} else {
		n, err = f.rwLoop(ctx, op, p, off)
	}
	f.release()
	return n, err
}

func opName(op Op) string {
	if op == OpPWrite {
		return "write"
	}
	return "read"
}

// rwLoop reads (op OpPRead) p at off until it is full, the file ends or an
// error, or writes (OpPWrite) it until all is written or an error. Hold a
// reference.
func (f *File) rwLoop(ctx context.Context, op Op, p []byte, off int64) (int, error) {
	switch {
	case off < 0:
		return 0, f.pathErr(opName(op), unix.EINVAL)
	case !f.seekable:
		return 0, f.pathErr(opName(op), unix.ESPIPE)
	}
	n := 0
	for n < len(p) {
		m, all, err := f.rw(ctx, op, p[n:], off+int64(n))
		n += m
		switch {
		case err != nil:
			return n, err
		case op == OpPRead && (m == 0 || all && n < len(p)):
			if ctx.Err() != nil {
				return n, ctx.Err() // cut short by the cancellation, not by the end of the file
			}
			return n, io.EOF
		case m == 0:
			return n, f.pathErr("write", io.ErrShortWrite)
		}
	}
	return n, nil
}

// rw is one read or write: inline when it can be done without waiting
// (page-cached data; a write the file system takes at once), else through
// the ring. all says the transfer went on until p was done or, reading,
// the file ended: every engine's reads of a file do (the conformance
// suite's IO/ShortReadAtEOF and IO/LargeRead), an inline RWF_NOWAIT read
// stops where the cached data does.
func (f *File) rw(ctx context.Context, op Op, p []byte, off int64) (n int, all bool, err error) {
	nowait := &f.rdNowait
	if op == OpPWrite {
		nowait = &f.wrNowait
	}
	if nowait.Load() {
		n, e := rwNowait(op == OpPWrite, f.fd, p, off)
		switch e {
		case 0:
			return n, false, nil
		case unix.EAGAIN: // it would wait (data not cached): the ring waits for it
		case unix.EOPNOTSUPP, unix.ENOSYS:
			nowait.Store(false)
		default:
			return 0, false, f.pathErr(opName(op), e)
		}
	}
	res := f.ring.do(ctx, f, op, p, off)
	if res < 0 {
		return 0, false, f.resErr(ctx, opName(op), res)
	}
	return int(res), true, nil
}

// Read reads up to len(p) bytes at the file offset and moves it on, as
// io.Reader says: 0, io.EOF at the end of the file. On a pipe or a socket
// it returns what one read got, waiting in the ring (not in a thread) for
// data to come.
func (f *File) Read(p []byte) (int, error) { return f.seq(OpPRead, p) }

// Write writes p at the file offset (at the end of the file with
// O_APPEND) and moves the offset past it, as io.Writer says.
func (f *File) Write(p []byte) (int, error) { return f.seq(OpPWrite, p) }

// seq is Read or Write (op OpPRead or OpPWrite).
func (f *File) seq(op Op, p []byte) (int, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	if !f.acquire() {
		return 0, f.pathErr(opName(op), os.ErrClosed)
	}
	defer f.release()
	if !f.seekable {
		return f.stream(op, p)
	}
	f.posMu.Lock()
	defer f.posMu.Unlock()
	n, err := f.rwLoop(context.Background(), op, p, f.pos)
	f.pos += int64(n)
	switch {
	case op == OpPRead && err == io.EOF && n > 0:
		err = nil // the next Read says io.EOF
	case op == OpPWrite && f.append && n > 0:
		// Linux appends whatever offset a write names: the offset is
		// the end of the file now.
		if end, e := unix.Seek(f.fd, 0, io.SeekEnd); e == nil {
			f.pos = end
		}
	}
	return n, err
}

// stream is Read or Write on a file with no offset (a pipe, a socket, a
// character device): one request, which waits for readiness in the ring.
func (f *File) stream(op Op, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	res := f.ring.do(context.Background(), f, op, p, 0)
	switch {
	case res < 0:
		return 0, f.resErr(context.Background(), opName(op), res)
	case res == 0 && op == OpPRead:
		return 0, io.EOF
	}
	return int(res), nil
}

// Seek sets the offset of the next Read or Write, as io.Seeker says.
// io.SeekEnd, and Linux's SEEK_DATA and SEEK_HOLE, ask the kernel.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f == nil {
		return 0, os.ErrInvalid
	}
	if !f.acquire() {
		return 0, f.pathErr("seek", os.ErrClosed)
	}
	defer f.release()
	if !f.seekable {
		return 0, f.pathErr("seek", unix.ESPIPE)
	}
	f.posMu.Lock()
	defer f.posMu.Unlock()
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = f.pos + offset
		if (offset > 0 && pos < f.pos) || (offset < 0 && pos > f.pos) {
			return 0, f.pathErr("seek", unix.EINVAL) // overflow
		}
	default:
		var err error
		if pos, err = unix.Seek(f.fd, offset, whence); err != nil {
			return 0, f.pathErr("seek", err)
		}
	}
	if pos < 0 {
		return 0, f.pathErr("seek", unix.EINVAL)
	}
	f.pos = pos
	return pos, nil
}

// Sync commits the file's data and metadata to stable storage (fsync),
// through the ring.
func (f *File) Sync() error { return f.sync(OpFSync) }

// Datasync commits the file's data, and the metadata needed to read it
// back, to stable storage (fdatasync), through the ring.
func (f *File) Datasync() error { return f.sync(OpFDSync) }

func (f *File) sync(op Op) error {
	if f == nil {
		return os.ErrInvalid
	}
	if !f.acquire() {
		return f.pathErr("sync", os.ErrClosed)
	}
	defer f.release()
	if res := f.ring.do(context.Background(), f, op, nil, 0); res < 0 {
		return f.resErr(context.Background(), "sync", res)
	}
	return nil
}

// Truncate changes the size of the file, as os.File.Truncate does.
func (f *File) Truncate(size int64) error {
	if f == nil {
		return os.ErrInvalid
	}
	if !f.acquire() {
		return f.pathErr("truncate", os.ErrClosed)
	}
	defer f.release()
	return f.f.Truncate(size)
}

// Stat returns the file's FileInfo, as os.File.Stat does.
func (f *File) Stat() (os.FileInfo, error) {
	if f == nil {
		return nil, os.ErrInvalid
	}
	if !f.acquire() {
		return nil, f.pathErr("stat", os.ErrClosed)
	}
	defer f.release()
	return f.f.Stat()
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Fd returns the file descriptor, or ^uintptr(0) once the file is closed.
// Unlike os.File.Fd, it leaves the descriptor's blocking mode alone. The
// descriptor is valid only until Close. Calls made after Fd read the
// descriptor's flags again at each submission (a syscall), since the
// caller may change them with fcntl F_SETFL; a File whose descriptor was
// never handed out spares it.
func (f *File) Fd() uintptr {
	if f == nil || f.refs.Load()&closedBit != 0 {
		return ^uintptr(0)
	}
	f.out.Store(true)
	return uintptr(f.fd)
}

// Close waits for the file's calls under way to end, then closes it. On
// a pipe or a socket, whose reads and writes could wait forever, it first
// cancels them: they return an error matching os.ErrClosed, as blocked
// calls on an os.File do. Every call after Close returns such an error,
// Close too.
func (f *File) Close() error {
	if f == nil {
		return os.ErrInvalid
	}
	old := f.refs.Or(closedBit)
	if old&closedBit != 0 {
		return f.pathErr("close", os.ErrClosed)
	}
	if old != 0 {
		if !f.seekable {
			f.ring.cancelFile(f)
		}
		<-f.closed
	}
	f.closeDup()
	return f.f.Close()
}
