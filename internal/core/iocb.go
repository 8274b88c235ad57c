//go:build linux

package core

import (
	"github.com/kaio-go/kaio/internal/opname"
	"golang.org/x/sys/unix"
)

// Op is an iocb opcode, numbered as Linux's IOCB_CMD_*.
type Op uint16

// The ops kaio supports, with the numbers of IOCB_CMD_* in linux/aio_abi.h.
const (
	OpPRead   Op = 0
	OpPWrite  Op = 1
	OpFSync   Op = 2
	OpFDSync  Op = 3
	OpPoll    Op = 5
	OpNoop    Op = 6
	OpPReadv  Op = 7
	OpPWritev Op = 8
)

// FlagResFd asks for the eventfd in Iocb.ResFd to be signalled once when the
// iocb completes (IOCB_FLAG_RESFD).
const FlagResFd uint32 = 1

// String names the op as the kernel's IOCB_CMD_ names do, in lower case.
func (o Op) String() string {
	return opname.String(int(o))
}

// validOps has bit o set for each op kaio implements.
const validOps = 1<<OpPRead | 1<<OpPWrite | 1<<OpFSync | 1<<OpFDSync | 1<<OpPoll | 1<<OpNoop | 1<<OpPReadv | 1<<OpPWritev

// Valid reports whether o is one of the ops kaio implements.
func (o Op) Valid() bool { return o < 16 && validOps>>o&1 != 0 }

// Reads reports whether the op reads from its fd into memory.
func (o Op) Reads() bool { return o == OpPRead || o == OpPReadv }

// Writes reports whether the op writes memory to its fd.
func (o Op) Writes() bool { return o == OpPWrite || o == OpPWritev }

// Syncs reports whether the op is an fsync or fdatasync.
func (o Op) Syncs() bool { return o == OpFSync || o == OpFDSync }

// Vectored reports whether the op uses Iocb.Iov instead of Iocb.Buf.
func (o Op) Vectored() bool { return o == OpPReadv || o == OpPWritev }

// Iocb is one I/O request. Its exported fields are the user's; the context
// owns the iocb (and its buffers) from Submit until its Event is reaped.
type Iocb struct {
	Data    uint64   // returned unchanged in Event.Data
	Op      Op       // what to do
	Fd      int      // the file, pipe, socket or eventfd
	Buf     []byte   // OpPRead, OpPWrite
	Iov     [][]byte // OpPReadv, OpPWritev
	Offset  int64    // ignored for fds that cannot seek (pipes, sockets)
	RWFlags int      // RWF_* of preadv2/pwritev2 (RWF_DSYNC, RWF_SYNC, RWF_APPEND, ...)
	Events  uint32   // OpPoll: the poll mask wanted (unix.POLLIN, ...)
	ResFd   int      // with FlagResFd: an eventfd, signalled once per completion
	Flags   uint32   // FlagResFd

	// claim is non-nil while the iocb is in flight on some context. It is
	// read and written only atomically (claim_unsafe.go): two contexts may
	// race to take the same iocb, and exactly one wins.
	claim *Claim
}

// Len is the number of bytes the iocb transfers when it succeeds in full.
func (i *Iocb) Len() int64 {
	if i.Op.Vectored() {
		var n int64
		for _, b := range i.Iov {
			n += int64(len(b))
		}
		return n
	}
	return int64(len(i.Buf))
}

// Event is one completion.
type Event struct {
	Data uint64 // Iocb.Data
	Obj  *Iocb  // the iocb that completed
	Res  int64  // bytes, or the poll revents, or a negative errno
	Res2 int64  // always 0 today, as in Linux
}

// Err returns nil when Res >= 0, else the errno -Res as a unix.Errno.
func (e Event) Err() error {
	if e.Res >= 0 {
		return nil
	}
	return unix.Errno(-e.Res)
}

// ErrEvent is the event of an iocb refused before it started (by Do, which
// answers with an event, not an error): Res is the negative errno of err
// (a unix.Errno or a *Refusal); Data and Obj are i's, unless i is nil.
func ErrEvent(i *Iocb, err error) Event {
	ev := Event{Res: -int64(Errno(err))}
	if i != nil {
		ev.Data, ev.Obj = i.Data, i
	}
	return ev
}

// Stats are a context's counters since Setup.
type Stats struct {
	Submitted uint64 // iocbs accepted by Submit (and Do)
	Completed uint64 // events posted (including cancelled ones)
	Retries   uint64 // retry-method calls after the first attempt
	Kicks     uint64 // kicks that queued or re-ran a request
	Offloaded uint64 // hand-offs to the blocking-work pool
	LinuxAIO  uint64 // the retry engine's hand-offs to Linux AIO (O_DIRECT reads and writes, fsync)
	Batched   uint64 // the retry engine's buffered transfers made several to an io_submit
	Deferred  uint64 // the retry engine's buffered writes left for GetEvents to make (Config.DeferWrites)
	Cancelled uint64 // requests that ended with -ECANCELED
	InFlight  int    // requests accepted and not yet completed
}
