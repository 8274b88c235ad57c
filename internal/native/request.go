//go:build linux

package native

import (
	"runtime"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kctx"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"golang.org/x/sys/unix"
)

// request is the native part of a kctx request: its kernel iocb, a heap
// object of its own so that it is pinned alone, and what pins the memory
// the kernel uses. The kiocb pointer is set at New and never changes.
type request struct {
	k        *linuxaio.Iocb
	pin      runtime.Pinner
	iovStore []unix.Iovec
}

// req is a kctx request with native's part.
type req = kctx.Req[request]

// prep fills r's kiocb for its iocb, with evfd as its IOCB_FLAG_RESFD, and
// pins what the kernel will read or write. A stream polls for readiness
// (IOCB_CMD_POLL) on the request's own fd; kaio then does the transfer.
func prep(r *req, evfd int) {
	i, p := r.Iocb, &r.P
	k := p.k
	*k = linuxaio.Iocb{Data: r.Tag, Fildes: uint32(r.Fd), Flags: linuxaio.FlagResFd, Resfd: uint32(evfd)}
	p.pin.Pin(k)
	switch {
	case r.Stream:
		k.LioOpcode = linuxaio.CmdPoll
		k.Buf = unix.POLLIN
		if i.Op.Writes() {
			k.Buf = unix.POLLOUT
		}
		return
	case i.Op == core.OpPoll:
		k.LioOpcode = linuxaio.CmdPoll
		k.Buf = uint64(i.Events)
		return
	case i.Op == core.OpFSync:
		k.LioOpcode = linuxaio.CmdFSync
		return
	case i.Op == core.OpFDSync:
		k.LioOpcode = linuxaio.CmdFDSync
		return
	}
	k.RWFlags = int32(i.RWFlags)
	k.Offset = i.Offset
	switch i.Op {
	case core.OpPRead, core.OpPWrite:
		k.LioOpcode = linuxaio.CmdPRead
		if i.Op == core.OpPWrite {
			k.LioOpcode = linuxaio.CmdPWrite
		}
		if len(i.Buf) > 0 {
			p.pin.Pin(&i.Buf[0])
			k.Buf = linuxaio.BufPtr(i.Buf)
		}
		k.Nbytes = uint64(len(i.Buf))
	case core.OpPReadv, core.OpPWritev:
		k.LioOpcode = linuxaio.CmdPReadv
		if i.Op == core.OpPWritev {
			k.LioOpcode = linuxaio.CmdPWritev
		}
		iov := p.buildIov(i, 0, true)
		if len(iov) > 0 {
			p.pin.Pin(&iov[0])
			k.Buf = linuxaio.IovPtr(iov)
		}
		k.Nbytes = uint64(len(iov))
	}
}

// buildIov makes the iovecs for i, skipping the first skip bytes, and
// pins the buffers if pin is set.
func (p *request) buildIov(i *core.Iocb, skip int64, pin bool) []unix.Iovec {
	var pp *runtime.Pinner
	if pin {
		pp = &p.pin
	}
	var iov []unix.Iovec
	if i.Op.Vectored() {
		iov = core.AppendIovecs(p.iovStore[:0], skip, pp, i.Iov...)
	} else {
		iov = core.AppendIovecs(p.iovStore[:0], skip, pp, i.Buf)
	}
	p.iovStore = iov
	return iov
}

// release drops what the kernel no longer uses once the request is done.
func (p *request) release() {
	p.pin.Unpin()
	clear(p.iovStore[:cap(p.iovStore)]) // no stale pointers to the user's buffers
	p.iovStore = p.iovStore[:0]
}
