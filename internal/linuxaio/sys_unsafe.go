//go:build linux

package linuxaio

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The AIO syscalls and the mapped completion ring: everything that hands
// the kernel a pointer, or reads memory the kernel writes, is in this file.

// Context is aio_context_t: the address of the context's aio_ring.
type Context uintptr

// Setup is io_setup for nr events. Its aio_context_t is the address of its
// aio_ring, mapped by the kernel outside the Go heap: it is received in a
// pointer so that no integer has to be turned back into one.
func Setup(nr int) (Context, *RingHeader, error) {
	var p unsafe.Pointer
	_, _, e := unix.Syscall(unix.SYS_IO_SETUP, uintptr(nr), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return 0, nil, e
	}
	return Context(uintptr(p)), (*RingHeader)(p), nil
}

// Destroy is io_destroy.
func Destroy(ctx Context) error {
	_, _, e := unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Submit submits the iocbs whose addresses (Addr) are in ptrs. The iocbs
// are pinned by their owners; ptrs holds plain addresses.
func Submit(ctx Context, ptrs []uintptr) (int, unix.Errno) {
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), uintptr(len(ptrs)), uintptr(unsafe.Pointer(unsafe.SliceData(ptrs))))
	return int(n), e
}

// SubmitRaw is Submit as a RawSyscall, without the scheduler's
// entersyscall and exitsyscall: only for iocbs that cannot sleep (buffered
// I/O with RWF_NOWAIT) and move little, since it holds its P throughout.
func SubmitRaw(ctx Context, ptrs []uintptr) (int, unix.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_IO_SUBMIT, uintptr(ctx), uintptr(len(ptrs)), uintptr(unsafe.Pointer(unsafe.SliceData(ptrs))))
	return int(n), e
}

// Cancel is io_cancel of k.
func Cancel(ctx Context, k *Iocb, ev *Event) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IO_CANCEL, uintptr(ctx), uintptr(unsafe.Pointer(k)), uintptr(unsafe.Pointer(ev)))
	return e
}

// GetEvents is io_getevents for at least min of len(evs) events. With wait
// false it does not wait (a zero timeout); with wait true it waits for
// min events, as long as it takes: a plain Syscall, so that the Go
// scheduler hands the processor on.
func GetEvents(ctx Context, min int, evs []Event, wait bool) (int, unix.Errno) {
	var ts unix.Timespec
	if wait {
		return WaitEvents(ctx, min, evs, nil)
	}
	return WaitEvents(ctx, min, evs, &ts)
}

// WaitEvents is io_getevents for at least min of len(evs) events, waiting
// at most ts (nil: as long as it takes).
func WaitEvents(ctx Context, min int, evs []Event, ts *unix.Timespec) (int, unix.Errno) {
	n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), uintptr(min), uintptr(len(evs)), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(unsafe.Pointer(ts)), 0)
	return int(n), e
}

// Addr is k's address, for Submit.
func Addr(k *Iocb) uintptr { return uintptr(unsafe.Pointer(k)) }

// BufPtr is the address of b's first byte, for Iocb.Buf.
func BufPtr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// IovBase is the address of the buffer of v, for Iocb.Buf.
func IovBase(v *unix.Iovec) uint64 { return uint64(uintptr(unsafe.Pointer(v.Base))) }

// IovPtr is the address of an iovec array, for Iocb.Buf.
func IovPtr(v []unix.Iovec) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(v)))) }

// Ring reads the kernel's aio_ring at the context's address. The kernel
// writes tail (after the events, with a write barrier) and reads head; user
// space reads tail with acquire and publishes head with release, which is
// what the kernel's own io_getevents does under its ring lock: only one
// reaper at a time may use it.
type Ring struct {
	hdr    *RingHeader
	Events []Event
}

// Map reports whether the ring h has a layout kaio can read, and if so
// makes r read it. A Ring Map refused, or was never given, is read through
// io_getevents instead (Reap).
func (r *Ring) Map(h *RingHeader) bool {
	if atomic.LoadUint32(&h.Magic) != RingMagic || h.IncompatFeatures != 0 || h.HeaderLength != uint32(unsafe.Sizeof(*h)) || h.Nr == 0 {
		return false
	}
	r.hdr = h
	r.Events = unsafe.Slice((*Event)(unsafe.Add(unsafe.Pointer(h), h.HeaderLength)), h.Nr)
	return true
}

// LoadHead, LoadTail and StoreHead read and move the ring's indexes.
func (r *Ring) LoadHead() uint32   { return atomic.LoadUint32(&r.hdr.Head) }
func (r *Ring) LoadTail() uint32   { return atomic.LoadUint32(&r.hdr.Tail) }
func (r *Ring) StoreHead(v uint32) { atomic.StoreUint32(&r.hdr.Head, v) }

// Reap moves up to len(evs) of ctx's completions into evs without
// waiting and returns how many: from r in user space, publishing the new
// head before it returns (so before the caller handles them), or with
// io_getevents when r is not mapped (nil, or a ring whose layout Map
// refused). Only one reaper at a time may use a ring.
func Reap(ctx Context, r *Ring, evs []Event) int {
	if r == nil || r.hdr == nil {
		n, _ := GetEvents(ctx, 0, evs, false) // -1 on an error: nothing taken
		return max(n, 0)
	}
	h, t := r.LoadHead(), r.LoadTail()
	nr := uint32(len(r.Events))
	n := 0
	for h != t && n < len(evs) {
		if h >= nr || t >= nr {
			panic("kaio: inconsistent aio_ring head/tail")
		}
		evs[n] = r.Events[h]
		n++
		if h++; h == nr {
			h = 0
		}
	}
	r.StoreHead(h)
	return n
}
