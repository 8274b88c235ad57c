//go:build linux

package uring

import (
	"cmp"
	"slices"
	"sort"

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
	if n <= 0 {
		return 0, false
	}
	// t[i-1] is the last buffer that starts at or before p.
	i := sort.Search(len(t), func(i int) bool { return t[i].start > p })
	if i == 0 || p+uintptr(n) > t[i-1].end {
		return 0, false
	}
	return t[i-1].idx, true
}

// RegisterBuffers implements core.BufferRegistrar: IORING_REGISTER_BUFFERS.
// The buffers stay pinned (runtime.Pinner: neither moved nor freed) until
// UnregisterBuffers or Destroy. kaio.Context has checked the
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
	slices.SortFunc(t, func(a, b fixedBuf) int { return cmp.Compare(a.start, b.start) })
	c.Mu.Lock()
	c.fixed = t
	c.Mu.Unlock()
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
	c.Mu.Lock()
	c.fixed = nil
	c.Mu.Unlock()
	c.fixedPin.Unpin()
}
