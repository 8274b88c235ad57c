//go:build linux

package uring

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw syscalls and the shared-memory rings: everything here touches
// memory the kernel shares or reads through pointers, so it lives in this
// one unsafe file.

func setup(entries uint32, p *params) (int, error) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// enter is io_uring_enter without a signal mask. arg is nil or a
// getEventsArg (with enterExtArg).
func enter(fd int, toSubmit, minComplete, flags uint32, arg *getEventsArg) (int, unix.Errno) {
	var p, sz uintptr
	if arg != nil {
		p, sz = uintptr(unsafe.Pointer(arg)), unsafe.Sizeof(*arg)
	}
	n, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), p, sz)
	return int(n), e
}

// enterSubmit is io_uring_enter that only submits, as a raw syscall: it
// does not tell the Go scheduler it may block, because it does not.
// io_uring issues each SQE with IOCB_NOWAIT and hands whatever would sleep
// (a page not cached, a buffered write ext4 cannot do without blocking, an
// fsync, a device out of tags) to its io-wq workers or to task work; what
// runs here is CPU work. As a plain Syscall, a submission of a few O_DIRECT
// reads (10-15 us) outlasts sysmon's 20 us tick often enough that the
// processor is handed off and taken back around it: on two cores that
// doubled the cost of submitting one iocb at a time.
func enterSubmit(fd int, toSubmit uint32) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), 0, 0, 0, 0)
	return int(n), e
}

// setTimeout points arg at ts.
func (a *getEventsArg) setTimeout(ts *kernelTimespec) { a.ts = uint64(uintptr(unsafe.Pointer(ts))) }

// register is io_uring_register(fd, op, arg, n).
func register(fd int, op uintptr, arg unsafe.Pointer, n int) error {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), op, uintptr(arg), uintptr(n), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// registerIovecs is IORING_REGISTER_BUFFERS over iov.
func registerIovecs(fd int, iov []unix.Iovec) error {
	return register(fd, registerBuffers, unsafe.Pointer(unsafe.SliceData(iov)), len(iov))
}

// unregisterIovecs is IORING_UNREGISTER_BUFFERS.
func unregisterIovecs(fd int) error { return register(fd, unregisterBuffers, nil, 0) }

func registerProbeOps(fd int, b *probeBuf) error {
	return register(fd, registerProbe, unsafe.Pointer(b), len(b.ops))
}

// ring is the mapped SQ ring, CQ ring and SQE array of one io_uring.
//
// The kernel writes sqHead and cqTail; kaio writes sqTail and cqHead. Those
// four are read and written atomically (load-acquire / store-release, as
// liburing's smp_load_acquire/smp_store_release). Everything else in the
// mappings is written once by the kernel at setup.
type ring struct {
	sqMap, cqMap, sqeMap []byte

	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqArray        []uint32
	sqes           []sqe

	cqHead, cqTail *uint32
	cqMask         uint32
	cqEntries      uint32
	cqes           []cqe
}

func u32At(m []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&m[off])) }

// mapRing maps the rings of the io_uring fd set up with p.
func (r *ring) mapRing(fd int, p *params) error {
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	cqSize := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(cqe{}))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
		cqSize = sqSize
	}
	var err error
	r.sqMap, err = unix.Mmap(fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	if single {
		r.cqMap = r.sqMap
	} else if r.cqMap, err = unix.Mmap(fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.unmap()
		return err
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(sqe{}))
	if r.sqeMap, err = unix.Mmap(fd, offSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.unmap()
		return err
	}
	r.sqHead = u32At(r.sqMap, p.sqOff.head)
	r.sqTail = u32At(r.sqMap, p.sqOff.tail)
	r.sqMask = *u32At(r.sqMap, p.sqOff.ringMask)
	r.sqEntries = *u32At(r.sqMap, p.sqOff.ringEntries)
	r.sqArray = unsafe.Slice(u32At(r.sqMap, p.sqOff.array), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMap[0])), p.sqEntries)
	r.cqHead = u32At(r.cqMap, p.cqOff.head)
	r.cqTail = u32At(r.cqMap, p.cqOff.tail)
	r.cqMask = *u32At(r.cqMap, p.cqOff.ringMask)
	r.cqEntries = *u32At(r.cqMap, p.cqOff.ringEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMap[p.cqOff.cqes])), p.cqEntries)
	// The SQ array maps ring slots to SQE indexes; kaio keeps it the
	// identity, so it is written once here.
	for i := range r.sqArray {
		r.sqArray[i] = uint32(i)
	}
	return nil
}

func (r *ring) unmap() {
	if r.sqeMap != nil {
		unix.Munmap(r.sqeMap)
	}
	if len(r.cqMap) > 0 && &r.cqMap[0] != &r.sqMap[0] {
		unix.Munmap(r.cqMap)
	}
	if r.sqMap != nil {
		unix.Munmap(r.sqMap)
	}
	*r = ring{}
}

func (r *ring) loadSQHead() uint32   { return atomic.LoadUint32(r.sqHead) }
func (r *ring) loadSQTail() uint32   { return atomic.LoadUint32(r.sqTail) }
func (r *ring) storeSQTail(v uint32) { atomic.StoreUint32(r.sqTail, v) }
func (r *ring) loadCQTail() uint32   { return atomic.LoadUint32(r.cqTail) }
func (r *ring) loadCQHead() uint32   { return atomic.LoadUint32(r.cqHead) }
func (r *ring) storeCQHead(v uint32) { atomic.StoreUint32(r.cqHead, v) }

// ptr is the address the kernel reads or writes, for an SQE's addr.
func bufPtr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func iovPtr(v []unix.Iovec) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(v)))) }
