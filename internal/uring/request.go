//go:build linux

package uring

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kctx"
	"golang.org/x/sys/unix"
)

// request is the uring part of a kctx request: its SQE, prepared under the
// context's Mu and copied into the SQ ring by Issue, and what pins the
// memory the kernel uses.
type request struct {
	sqe sqe
	// pin holds the buffers and the iovec array in place from submission
	// until the CQE is drained; the iocb keeps them reachable.
	pin      runtime.Pinner
	iovStore []unix.Iovec
}

// req is a kctx request with uring's part.
type req = kctx.Req[request]

// maxRW is MAX_RW_COUNT, the most one read or write transfers.
const maxRW = 0x7ffff000

// prep fills s for iocb i on fd; seekable says whether fd has a file
// position. The first skip bytes are left out (a stream write's
// continuation, whose buffers are pinned already: pin is false then). A
// PREAD or PWRITE whose buffer lies inside one of fixed (the registered
// buffers) becomes READ_FIXED or WRITE_FIXED.
func (r *request) prep(s *sqe, ud uint64, fd int, i *core.Iocb, skip int64, seekable, pin bool, fixed fixedTable) {
	*s = sqe{userData: ud, fd: int32(fd)}
	off := uint64(i.Offset)
	if !seekable {
		off = ^uint64(0) // -1: "the file position"; streams ignore it
	}
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
		s.opFlags = pollEvents(i.Events)
	}
}

// release drops what the kernel no longer uses once the CQE is out.
func (r *request) release() {
	r.pin.Unpin()
	clear(r.iovStore[:cap(r.iovStore)]) // no stale pointers to the user's buffers
	r.iovStore = r.iovStore[:0]
}
