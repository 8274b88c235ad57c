package uring

import (
	"slices"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// fixedBuf is one registered buffer: its address range and its index in
// the kernel's table (the SQE's buf_index).
type fixedBuf struct {
	start, end uintptr
	idx        uint16
}

// fixedTable is the registered buffers sorted by start address, so that
// prep finds the one holding a buffer by binary search. Guarded by
// Context.smu.
type fixedTable []fixedBuf

// find returns the index of the registered buffer that holds [p, p+n) whole.
func (t fixedTable) find(p uintptr, n int) (uint16, bool) {
	if len(t) == 0 || n <= 0 {
		return 0, false
	}
	i, _ := slices.BinarySearchFunc(t, p, func(f fixedBuf, p uintptr) int {
		switch {
		case f.start > p:
			return 1
		case f.start < p:
			return -1
		}
		return 0
	})
	// t[i-1] is the last buffer starting at or before p (t[i] if it starts at p).
	if i < len(t) && t[i].start == p {
		i++
	}
	if i == 0 {
		return 0, false
	}
	f := t[i-1]
	if p+uintptr(n) <= f.end {
		return f.idx, true
	}
	return 0, false
}

// RegisterBuffers implements core.BufferRegistrar: IORING_REGISTER_BUFFERS.
// The buffers stay pinned (runtime.Pinner) and referenced from the context
// until UnregisterBuffers or Destroy. kaio.Context has checked the
// arguments and that nothing is registered.
func (c *Context) RegisterBuffers(bufs [][]byte) error {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return unix.EINVAL
	}
	iov := core.AppendIovecs(nil, 0, &c.fixedPin, bufs...)
	if err := registerIovecs(c.fd, iov); err != nil {
		c.fixedPin.Unpin()
		return err
	}
	t := make(fixedTable, len(bufs))
	for i, b := range bufs {
		start := core.BufAddr(b)
		t[i] = fixedBuf{start: start, end: start + uintptr(len(b)), idx: uint16(i)}
	}
	slices.SortFunc(t, func(a, b fixedBuf) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	c.fixed, c.fixedBufs = t, bufs
	return nil
}

// UnregisterBuffers implements core.BufferRegistrar. A request in flight
// on a registered buffer keeps it: the kernel holds its own reference to
// the registration, and the request pins and references its Buf.
func (c *Context) UnregisterBuffers() error {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return unix.EINVAL
	}
	if err := unregisterIovecs(c.fd); err != nil {
		return err
	}
	c.dropFixedSmu()
	return nil
}

// dropFixedSmu forgets the registered buffers. Hold smu.
func (c *Context) dropFixedSmu() {
	c.fixed, c.fixedBufs = nil, nil
	c.fixedPin.Unpin()
}
