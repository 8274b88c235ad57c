package uring

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Kinds of SQE, in the top half of user_data; the bottom half is the
// request's index in its table.
const (
	kindUser   = 0 // a request in one of the nrEvents slots
	kindSync   = 1 // a Do request or a Cancel's ASYNC_CANCEL: someone waits for it
	kindIgnore = 2 // a wake-up NOP or Destroy's cancels: only counted
)

func userData(kind, idx int) uint64 { return uint64(kind)<<32 | uint64(uint32(idx)) }

// request is one SQE's worth of state. User requests live in Context.reqs
// (one per ring slot, allocated at New, so the hot path allocates nothing);
// sync requests in Context.syncs, reused through a free list.
type request struct {
	claim core.Claim
	ud    uint64 // the SQE's user_data
	sync  bool

	// Set at submit under Context.smu (the fields) and Context.mu (the
	// claim and inFlight); read by the drainer under Context.mu.
	iocb     *core.Iocb
	resfd    int // -1 when none
	inFlight bool
	cancel   bool // a sync request carrying ASYNC_CANCEL, not a Do

	// A read or write of a pipe or socket (stream) is issued again when it
	// ends with -EAGAIN (readers raced for the same bytes after the poll
	// io_uring armed for them woke them all), unless the user asked for
	// RWF_NOWAIT (nowait); and a write goes on until all is written, as
	// with the retry engine (io_uring completes it at the first short
	// write). written counts what was written, resub marks a request
	// waiting on Context.resub for its next SQE, cancelled a Cancel that
	// found it there. Guarded by Context.mu.
	nowait    bool
	stream    bool
	written   int64
	resub     bool
	cancelled bool
	nextResub *request

	// pin holds the buffers and the iovec array in place from submission
	// until the CQE is drained; iocb keeps them reachable.
	pin      runtime.Pinner
	iovStore []unix.Iovec

	// done and res: the result of a sync request, written by the drainer
	// under Context.mu.
	done bool
	res  int64

	nextFree *request // guarded by Context.mu
}

// maxRW is MAX_RW_COUNT, the most one read or write transfers.
const maxRW = 0x7ffff000

// prep fills s for r's iocb i; seekable says whether i.Fd has a file
// position. The first r.written bytes are skipped (a stream write's
// continuation, whose buffers are pinned already: pin is false then). A
// PREAD or PWRITE whose buffer lies inside one of fixed (the registered
// buffers) becomes READ_FIXED or WRITE_FIXED.
func (r *request) prep(s *sqe, i *core.Iocb, seekable, pin bool, fixed fixedTable) {
	*s = sqe{userData: r.ud, fd: int32(i.Fd)}
	off := uint64(i.Offset)
	if !seekable {
		off = ^uint64(0) // -1: "the file position"; streams ignore it
	}
	skip := r.written
	switch i.Op {
	case core.OpNoop:
		s.opcode = opNop
		s.fd = -1
	case core.OpPRead, core.OpPWrite:
		s.opcode = opRead
		if i.Op == core.OpPWrite {
			s.opcode = opWrite
		}
		b := i.Buf[skip:]
		if len(b) > 0 {
			if pin {
				r.pin.Pin(&b[0])
			}
			s.addr = bufPtr(b)
			if idx, ok := fixed.find(core.BufAddr(b), len(b)); ok {
				s.opcode = opReadFixed
				if i.Op == core.OpPWrite {
					s.opcode = opWriteFixed
				}
				s.bufIndex = idx
			}
		}
		s.len = uint32(min(len(b), maxRW)) // sqe.len is 32 bits; the kernel stops there anyway
		s.off = off
		s.opFlags = uint32(i.RWFlags)
	case core.OpPReadv, core.OpPWritev:
		s.opcode = opReadv
		if i.Op == core.OpPWritev {
			s.opcode = opWritev
		}
		var p *runtime.Pinner
		if pin {
			p = &r.pin
		}
		iov := core.AppendIovecs(r.iovStore[:0], skip, p, i.Iov...)
		r.iovStore = iov
		if len(iov) > 0 && pin { // a continuation reuses the pinned array
			r.pin.Pin(&iov[0])
		}
		if len(iov) > 0 {
			s.addr = iovPtr(iov)
		}
		s.len = uint32(len(iov))
		s.off = off
		s.opFlags = uint32(i.RWFlags)
	case core.OpFSync, core.OpFDSync:
		s.opcode = opFsync
		if i.Op == core.OpFDSync {
			s.opFlags = fsyncDatasync
		}
	case core.OpPoll:
		s.opcode = opPollAdd
		s.opFlags = i.Events // poll32_events; on little-endian (amd64, arm64) also the old 16-bit poll_events
	}
}

// release drops what the kernel no longer uses once r's CQE is out.
func (r *request) release() {
	r.pin.Unpin()
	clear(r.iovStore[:cap(r.iovStore)]) // no stale pointers to the user's buffers
	r.iovStore = r.iovStore[:0]
}
