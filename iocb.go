package kaio

import (
	"syscall"

	"github.com/kaio-go/kaio/internal/opname"
)

// The errnos in this package's portable files are syscall's: on Linux they
// are the very values of golang.org/x/sys/unix (unix.Errno is
// syscall.Errno), and unlike x/sys/unix, syscall also builds on Windows.

// Op is an iocb opcode, numbered as Linux's IOCB_CMD_* in linux/aio_abi.h.
type Op uint16

// The ops kaio implements. The numbers are IOCB_CMD_*'s: 4 (the long
// removed IOCB_CMD_PREADX) is not one of them.
const (
	OpPRead   Op = 0 // read Buf at Offset (pread)
	OpPWrite  Op = 1 // write Buf at Offset (pwrite)
	OpFSync   Op = 2 // flush the file's data and metadata (fsync)
	OpFDSync  Op = 3 // flush the file's data (fdatasync)
	OpPoll    Op = 5 // wait until the fd is ready for Events (one-shot poll)
	OpNoop    Op = 6 // complete at once with 0; Fd is ignored
	OpPReadv  Op = 7 // read into the buffers of Iov at Offset (preadv)
	OpPWritev Op = 8 // write the buffers of Iov at Offset (pwritev)
)

// String names the op as the kernel's IOCB_CMD_ names do, in lower case
// ("pread", "poll", ...), and any other number as "op(N)".
func (o Op) String() string {
	return opname.String(int(o))
}

// FlagResFd (in Iocb.Flags) asks for the eventfd in Iocb.ResFd to be
// signalled once per completion, after the event is in the ring, as
// IOCB_FLAG_RESFD does.
const FlagResFd uint32 = 1

// FlagFixedFile (in Iocb.Flags) says that Iocb.Fd is not an fd but the
// index of a file registered with Context.RegisterFiles, as
// IOSQE_FIXED_FILE does for an io_uring SQE. An index with no file
// registered there is refused with EBADF.
const FlagFixedFile uint32 = 2

// Iocb is one I/O request, Linux's struct iocb in Go's terms. The caller
// fills in the exported fields; the context owns the iocb, and the memory
// of Buf and Iov, from Submit until the iocb's Event is reaped: changing
// them meanwhile changes the I/O, and the same *Iocb may not be submitted
// again before then (EINVAL). A copy of an Iocb is another request.
type Iocb struct {
	// Data is the caller's, returned unchanged in Event.Data (libaio's
	// aio_data): an index, a key, anything that finds the request again.
	Data uint64
	// Op is what to do.
	Op Op
	// Fd is the file, pipe, socket, tty or eventfd the op works on; OpNoop
	// ignores it. The request takes its own reference to the file at
	// Submit: closing Fd afterwards does not change which file it touches.
	// With FlagFixedFile, Fd is an index into the registered files.
	Fd int
	// Buf is the memory that OpPRead reads into and OpPWrite writes from;
	// its length is the transfer's. With O_DIRECT its address and length
	// must be aligned as the file system says (statx's STATX_DIOALIGN,
	// else 512 bytes).
	Buf []byte
	// Iov are the buffers of OpPReadv and OpPWritev, filled or written in
	// order, at most 1024 of them (UIO_MAXIOV).
	Iov [][]byte
	// Offset is where in the file the transfer starts. It must not be
	// negative for a file that has a position (a regular file or a block
	// device) and is ignored for those that have none (pipes, sockets).
	Offset int64
	// RWFlags are the RWF_* flags of preadv2/pwritev2 for reads and
	// writes (RWF_DSYNC, RWF_SYNC, RWF_APPEND, RWF_HIPRI, RWF_NOWAIT ...),
	// and must be 0 for the other ops. RWF_NOWAIT makes a request that
	// would wait complete with -EAGAIN instead.
	RWFlags int
	// Events is the poll mask OpPoll waits for (POLLIN, POLLOUT, ...).
	Events uint32
	// ResFd is an eventfd, signalled once per completion when Flags has
	// FlagResFd. Anything but an eventfd is refused with EINVAL. It is an
	// fd even with FlagFixedFile.
	ResFd int
	// Flags are FlagResFd and FlagFixedFile, or 0.
	Flags uint32

	// claim is the engines' mark of an iocb in flight (internal/core's
	// Iocb.claim: this struct has that one's layout, which
	// TestIocbLayout checks, so that a *Iocb is handed to an engine
	// without a copy). Only the engines, on Linux, use it.
	//lint:ignore U1000 used through core.Iocb's view of this struct
	claim *inFlight
}

// inFlight is opaque here: the engines store their own pointer in
// Iocb.claim.
type inFlight struct{}

// Event is one completion, Linux's struct io_event.
type Event struct {
	// Data is the completed iocb's Iocb.Data.
	Data uint64
	// Obj is the iocb that completed: the pointer given to Submit.
	Obj *Iocb
	// Res is the result: bytes transferred (reads and writes), the
	// revents that matched (OpPoll), 0 (OpFSync, OpFDSync, OpNoop), or a
	// negative errno (-ECANCELED for a cancelled request); Err converts a
	// negative one.
	Res int64
	// Res2 is always 0, as in Linux today.
	Res2 int64
}

// Err returns nil when Res >= 0, else the errno -Res (a syscall.Errno,
// which is golang.org/x/sys/unix's Errno: errors.Is(ev.Err(),
// unix.ECANCELED) holds for a cancelled request).
func (e Event) Err() error {
	if e.Res >= 0 {
		return nil
	}
	return syscall.Errno(-e.Res)
}

// Stats are a context's counters since Setup. Retries, Kicks, Offloaded,
// LinuxAIO, Batched and Deferred count the retry engine's machinery and stay 0 on
// uring and native.
type Stats struct {
	Submitted uint64 // iocbs accepted by Submit, and by Do
	Completed uint64 // events posted, cancelled ones included
	Retries   uint64 // retry-method calls after a request's first attempt
	Kicks     uint64 // wake-ups that queued a waiting request to run again
	Offloaded uint64 // hand-offs of blocking work (uncached reads; O_DIRECT and fsync without Linux AIO) to worker goroutines
	LinuxAIO  uint64 // hand-offs of O_DIRECT reads and writes and fsyncs to Linux AIO
	Batched   uint64 // buffered reads' and writes' transfers made several to one io_submit: first attempts (RWF_NOWAIT) in Submit, writes of one file by an offload worker or GetEvents
	Deferred  uint64 // buffered writes left for GetEvents to make (WithDeferredWrites)
	Cancelled uint64 // requests that ended with -ECANCELED
	InFlight  int    // requests accepted and not yet completed
}
