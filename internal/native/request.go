package native

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// Kinds of request, in the top half of aio_data; the bottom half is the
// request's index in its table.
const (
	kindUser = 0 // one of the nrEvents slots
	kindSync = 1 // a Do request
)

func userData(kind, idx int) uint64 { return uint64(kind)<<32 | uint64(uint32(idx)) }

// request is an iocb kaio handed (or will hand) to the kernel. User
// requests are allocated at New, one per slot, with their kernel iocb; sync
// requests are allocated on first use and reused. Every field but the
// immutable claim, ud, sync and k is guarded by Context.mu.
type request struct {
	claim core.Claim
	ud    uint64
	sync  bool
	k     *kiocb // a heap object of its own, so that it is pinned alone

	iocb     *core.Iocb
	resfd    int  // the user's eventfd, -1 when none
	inFlight bool // taken, not yet completed
	inKernel bool // an iocb of it is in the kernel (counted in pending)
	// A pipe or socket transfer (see the package doc): polling for
	// readiness, then done by kaio; written counts what was written.
	stream    bool
	nowait    bool // the user asked for RWF_NOWAIT: EAGAIN is a result
	written   int64
	cancelled bool

	pin      runtime.Pinner
	iovStore []unix.Iovec

	done bool // a sync request's result is in res
	res  int64

	nextFree *request
}

// prep fills r.k for iocb i on an fd described by fi, with evfd as its
// IOCB_FLAG_RESFD, and pins what the kernel will read or write.
func (r *request) prep(i *core.Iocb, fi *core.FdInfo, evfd int) {
	k := r.k
	*k = kiocb{aioData: r.ud, aioFildes: uint32(i.Fd), aioFlags: iocbFlagResFd, aioResfd: uint32(evfd)}
	r.pin.Pin(k)
	switch {
	case r.stream:
		k.aioLioOpcode = cmdPoll
		k.aioBuf = unix.POLLIN
		if i.Op.Writes() {
			k.aioBuf = unix.POLLOUT
		}
		return
	case i.Op == core.OpPoll:
		k.aioLioOpcode = cmdPoll
		k.aioBuf = uint64(i.Events)
		return
	case i.Op == core.OpFSync:
		k.aioLioOpcode = cmdFSync
		return
	case i.Op == core.OpFDSync:
		k.aioLioOpcode = cmdFDSync
		return
	}
	k.aioRWFlags = int32(i.RWFlags)
	k.aioOffset = i.Offset
	switch i.Op {
	case core.OpPRead, core.OpPWrite:
		k.aioLioOpcode = cmdPRead
		if i.Op == core.OpPWrite {
			k.aioLioOpcode = cmdPWrite
		}
		if len(i.Buf) > 0 {
			r.pin.Pin(&i.Buf[0])
			k.aioBuf = bufPtr(i.Buf)
		}
		k.aioNbytes = uint64(len(i.Buf))
	case core.OpPReadv, core.OpPWritev:
		k.aioLioOpcode = cmdPReadv
		if i.Op == core.OpPWritev {
			k.aioLioOpcode = cmdPWritev
		}
		iov := r.buildIov(i, 0, true)
		if len(iov) > 0 {
			r.pin.Pin(&iov[0])
			k.aioBuf = iovPtr(iov)
		}
		k.aioNbytes = uint64(len(iov))
	}
}

// buildIov makes r's iovecs for i, skipping the first skip bytes, and
// pins the buffers if pin is set.
func (r *request) buildIov(i *core.Iocb, skip int64, pin bool) []unix.Iovec {
	var p *runtime.Pinner
	if pin {
		p = &r.pin
	}
	var iov []unix.Iovec
	if i.Op.Vectored() {
		iov = core.AppendIovecs(r.iovStore[:0], skip, p, i.Iov...)
	} else {
		iov = core.AppendIovecs(r.iovStore[:0], skip, p, i.Buf)
	}
	r.iovStore = iov
	return iov
}

// release drops what the kernel no longer uses once r is reaped.
func (r *request) release() {
	r.pin.Unpin()
	clear(r.iovStore[:cap(r.iovStore)]) // no stale pointers to the user's buffers
	r.iovStore = r.iovStore[:0]
}
