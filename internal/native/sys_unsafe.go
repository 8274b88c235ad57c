//go:build linux

package native

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The AIO syscalls and the mapped completion ring: everything that hands
// the kernel a pointer, or reads memory the kernel writes, is in this file.

// aioContext is aio_context_t: the address of the context's aio_ring.
type aioContext uintptr

// ioSetup creates a context. Its aio_context_t is the address of its
// aio_ring, mapped by the kernel outside the Go heap: it is received in a
// pointer so that no integer has to be turned back into one.
func ioSetup(nr int) (aioContext, *ringHeader, error) {
	var p unsafe.Pointer
	_, _, e := unix.Syscall(unix.SYS_IO_SETUP, uintptr(nr), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return 0, nil, e
	}
	return aioContext(uintptr(p)), (*ringHeader)(p), nil
}

func ioDestroy(ctx aioContext) error {
	_, _, e := unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ioSubmit submits the iocbs whose addresses are in ptrs. The iocbs are
// pinned by their requests; ptrs holds plain addresses.
func ioSubmit(ctx aioContext, ptrs []uintptr) (int, unix.Errno) {
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), uintptr(len(ptrs)), uintptr(unsafe.Pointer(unsafe.SliceData(ptrs))))
	return int(n), e
}

func ioCancel(ctx aioContext, k *kiocb, ev *ioEvent) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IO_CANCEL, uintptr(ctx), uintptr(unsafe.Pointer(k)), uintptr(unsafe.Pointer(ev)))
	return e
}

// ioGetevents reaps without waiting: the fallback when the ring's magic is
// not one kaio knows how to read.
func ioGetevents(ctx aioContext, evs []ioEvent) (int, unix.Errno) {
	var ts unix.Timespec
	n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), 0, uintptr(len(evs)), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(unsafe.Pointer(&ts)), 0)
	return int(n), e
}

func kiocbAddr(k *kiocb) uintptr { return uintptr(unsafe.Pointer(k)) }

func bufPtr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func iovPtr(v []unix.Iovec) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(v)))) }

// ring reads the kernel's aio_ring at the context's address. The kernel
// writes tail (after the events, with a write barrier) and reads head; user
// space reads tail with acquire and publishes head with release, which is
// what the kernel's own io_getevents does under its ring lock: only one
// reaper at a time may use it (the engine's mu).
type ring struct {
	hdr    *ringHeader
	events []ioEvent
}

// mapRing reports whether the ring h has a layout kaio can read.
func (r *ring) mapRing(h *ringHeader) bool {
	if atomic.LoadUint32(&h.magic) != ringMagic || h.incompatFeatures != 0 || h.headerLength != uint32(unsafe.Sizeof(*h)) || h.nr == 0 {
		return false
	}
	r.hdr = h
	r.events = unsafe.Slice((*ioEvent)(unsafe.Add(unsafe.Pointer(h), h.headerLength)), h.nr)
	return true
}

func (r *ring) loadHead() uint32   { return atomic.LoadUint32(&r.hdr.head) }
func (r *ring) loadTail() uint32   { return atomic.LoadUint32(&r.hdr.tail) }
func (r *ring) storeHead(v uint32) { atomic.StoreUint32(&r.hdr.head, v) }
