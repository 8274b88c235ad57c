package uring

import "encoding/binary"

// The io_uring ABI of include/uapi/linux/io_uring.h, written once, with the
// kernel's field names. x/sys/unix has the syscall numbers but none of these
// layouts. abi_unsafe_test.go checks every offset against the header.

// sqe is struct io_uring_sqe (64 bytes). Unions are represented by their
// first member; the comments name the other members kaio uses.
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64 // addr2
	addr        uint64
	len         uint32
	opFlags     uint32 // rw_flags, fsync_flags, poll32_events, cancel_flags
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32 // file_index
	addr3       uint64
	pad2        uint64
}

// cqe is struct io_uring_cqe (16 bytes; kaio never asks for CQE32).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// sqringOffsets is struct io_sqring_offsets.
type sqringOffsets struct {
	head        uint32
	tail        uint32
	ringMask    uint32
	ringEntries uint32
	flags       uint32
	dropped     uint32
	array       uint32
	resv1       uint32
	userAddr    uint64
}

// cqringOffsets is struct io_cqring_offsets.
type cqringOffsets struct {
	head        uint32
	tail        uint32
	ringMask    uint32
	ringEntries uint32
	overflow    uint32
	cqes        uint32
	flags       uint32
	resv1       uint32
	userAddr    uint64
}

// params is struct io_uring_params.
type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFd         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// getEventsArg is struct io_uring_getevents_arg, passed with
// IORING_ENTER_EXT_ARG (5.11+) to bound the wait with a timeout.
type getEventsArg struct {
	sigmask     uint64
	sigmaskSz   uint32
	minWaitUsec uint32 // pad before 6.12
	ts          uint64
}

// kernelTimespec is struct __kernel_timespec, which getEventsArg.ts points
// at: 64-bit seconds and nanoseconds on every architecture. (x/sys's
// Timespec is the C library's, 32-bit fields on 386 and arm, where the
// kernel would read a timeout of centuries.)
type kernelTimespec struct {
	sec  int64
	nsec int64
}

// probeOp is struct io_uring_probe_op.
type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16 // ioProbeOpSupported
	resv2 uint32
}

// probeHdr is struct io_uring_probe without its flexible array of ops.
type probeHdr struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
}

// probeBuf is a probe header followed by room for 256 ops, the most the
// u8 opcode can name.
type probeBuf struct {
	hdr probeHdr
	ops [256]probeOp
}

// Opcodes (enum io_uring_op).
const (
	opNop         = 0
	opReadv       = 1
	opWritev      = 2
	opFsync       = 3
	opReadFixed   = 4
	opWriteFixed  = 5
	opPollAdd     = 6
	opAsyncCancel = 14
	opRead        = 22
	opWrite       = 23
)

// Setup flags, features, enter flags, the fsync flag, mmap offsets and
// register opcodes: only those kaio uses.
const (
	setupCQSize      = 1 << 3
	setupClamp       = 1 << 4
	setupCoopTaskrun = 1 << 8

	featSingleMmap = 1 << 0
	featExtArg     = 1 << 8

	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	fsyncDatasync = 1 << 0

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerBuffers    = 0
	unregisterBuffers  = 1
	registerProbe      = 8
	ioProbeOpSupported = 1 << 0

	// maxEntries is IORING_MAX_ENTRIES: the largest SQ the kernel makes.
	maxEntries = 32768
)

// pollEvents is the SQE's poll32_events for the poll mask ev. The kernel
// swaps its half-words on big-endian machines (io_poll_parse_events:
// swahw32), so that the old 16-bit poll_events field, which shares the
// first half of the word, still reads right there.
func pollEvents(ev uint32) uint32 {
	if bigEndian {
		return ev<<16 | ev>>16
	}
	return ev
}

var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1
