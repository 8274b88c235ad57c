// Package linuxaio is the Linux AIO ABI and its syscalls (io_setup,
// io_submit, io_cancel, io_getevents, io_destroy), and the reading of the
// completion ring the kernel maps into the process: what the native engine
// is built on, and what the retry engine hands O_DIRECT reads and writes
// and fsyncs to, as Linux 2.6 did.
package linuxaio

// The ABI of include/uapi/linux/aio_abi.h and fs/aio.c, written once with
// the kernel's field names; x/sys/unix has the syscall numbers but not
// these layouts. abi_unsafe_test.go checks the offsets.

// Iocb is struct iocb (64 bytes). The order of aio_key and aio_rw_flags
// follows the byte order (the kernel's PADDED macro): key_rw.go.
type Iocb struct {
	Data      uint64
	keyRW            // aio_key (the kernel writes KIOCB_KEY, 0, at submit) and aio_rw_flags
	LioOpcode uint16 // Cmd*
	Reqprio   int16
	Fildes    uint32
	Buf       uint64 // a buffer or an iovec array's address; for a poll, its events
	Nbytes    uint64 // bytes, or iovecs
	Offset    int64
	Reserved2 uint64
	Flags     uint32 // FlagResFd
	Resfd     uint32
}

// Event is struct io_event.
type Event struct {
	Data uint64
	Obj  uint64
	Res  int64
	Res2 int64
}

// RingHeader is the head of struct aio_ring, the completion ring fs/aio.c
// maps into the process at the address io_setup returns; io_events follow
// it at HeaderLength.
type RingHeader struct {
	ID               uint32
	Nr               uint32 // number of io_events
	Head             uint32 // next to reap; user space may advance it
	Tail             uint32 // next the kernel writes
	Magic            uint32
	CompatFeatures   uint32
	IncompatFeatures uint32
	HeaderLength     uint32
}

// The commands (IOCB_CMD_*), and IOCB_FLAG_RESFD.
const (
	CmdPRead   = 0
	CmdPWrite  = 1
	CmdFSync   = 2
	CmdFDSync  = 3
	CmdPoll    = 5
	CmdPReadv  = 7
	CmdPWritev = 8

	FlagResFd = 1

	// RingMagic marks an aio_ring whose layout user space may read.
	RingMagic = 0xa10a10a1
)
