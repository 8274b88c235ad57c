//go:build linux

package uring

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

func TestFixedTableFind(t *testing.T) {
	tab := fixedTable{{start: 100, end: 200, idx: 3}, {start: 200, end: 300, idx: 0}, {start: 1000, end: 1100, idx: 1}}
	for _, c := range []struct {
		p    uintptr
		n    int
		idx  uint16
		want bool
	}{
		{100, 100, 3, true}, {150, 50, 3, true}, {150, 51, 0, false}, // crosses into the next buffer
		{200, 1, 0, true}, {299, 1, 0, true}, {300, 1, 0, false}, {99, 1, 0, false},
		{1000, 100, 1, true}, {1050, 60, 0, false}, {2000, 1, 0, false}, {100, 0, 0, false},
	} {
		idx, ok := tab.find(c.p, c.n)
		if ok != c.want || ok && idx != c.idx {
			t.Errorf("find(%d, %d) = %d, %v; want %d, %v", c.p, c.n, idx, ok, c.idx, c.want)
		}
	}
	if _, ok := fixedTable(nil).find(100, 1); ok {
		t.Error("an empty table found a buffer")
	}
}

// TestPrepFixed: a read or write inside a registered buffer becomes
// READ_FIXED/WRITE_FIXED with its index; one outside, or a vectored one,
// does not.
func TestPrepFixed(t *testing.T) {
	reg := make([]byte, 8192)
	other := make([]byte, 4096)
	tab := fixedTable{{start: core.BufAddr(reg), end: core.BufAddr(reg) + 8192, idx: 7}}
	var r request
	var s sqe
	for _, c := range []struct {
		i      core.Iocb
		opcode uint8
	}{
		{core.Iocb{Op: core.OpPRead, Buf: reg[4096:]}, opReadFixed},
		{core.Iocb{Op: core.OpPWrite, Buf: reg[:512]}, opWriteFixed},
		{core.Iocb{Op: core.OpPRead, Buf: other}, opRead},
		{core.Iocb{Op: core.OpPReadv, Iov: [][]byte{reg}}, opReadv},
	} {
		r.prep(&s, 0, 3, &c.i, 0, true, false, tab)
		if s.opcode != c.opcode || c.opcode >= opReadFixed && c.opcode <= opWriteFixed && s.bufIndex != 7 {
			t.Errorf("%v: opcode %d buf_index %d, want opcode %d", c.i.Op, s.opcode, s.bufIndex, c.opcode)
		}
		r.release()
	}
}

// TestRegisteredBuffersIO writes and reads a file through registered
// buffers (READ_FIXED/WRITE_FIXED), with garbage collections between
// submission and reaping, then unregisters and reads again.
func TestRegisteredBuffersIO(t *testing.T) {
	c := newCtx(t, 8)
	path := filepath.Join(t.TempDir(), "fixed")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())

	reg := make([]byte, 64<<10)
	if err := c.RegisterBuffers([][]byte{reg}); err != nil {
		if err == unix.ENOMEM || err == unix.EPERM {
			t.Skipf("IORING_REGISTER_BUFFERS refused: %v", err)
		}
		t.Fatal(err)
	}
	for i := range reg {
		reg[i] = byte(i*7 + 1)
	}
	want := bytes.Clone(reg[:32<<10])
	do := func(i *core.Iocb) {
		t.Helper()
		if n, err := c.Submit([]*core.Iocb{i}); n != 1 {
			t.Fatalf("Submit: %v", err)
		}
		runtime.GC()
		evs := make([]core.Event, 1)
		if n, err := c.GetEvents(context.Background(), 1, evs, -1); n != 1 || evs[0].Res != int64(len(i.Buf)) {
			t.Fatalf("GetEvents: %d %v %+v", n, err, evs)
		}
	}
	do(&core.Iocb{Op: core.OpPWrite, Fd: fd, Buf: reg[:32<<10], Offset: 0})
	clear(reg)
	do(&core.Iocb{Op: core.OpPRead, Fd: fd, Buf: reg[32<<10:], Offset: 0})
	if !bytes.Equal(reg[32<<10:], want) {
		t.Fatal("READ_FIXED read other bytes than WRITE_FIXED wrote")
	}
	if err := c.UnregisterBuffers(); err != nil {
		t.Fatal(err)
	}
	clear(reg)
	do(&core.Iocb{Op: core.OpPRead, Fd: fd, Buf: reg[:32<<10], Offset: 0})
	if !bytes.Equal(reg[:32<<10], want) {
		t.Fatal("a read after UnregisterBuffers read other bytes")
	}
	// Registered again, then left for Destroy to drop.
	if err := c.RegisterBuffers([][]byte{reg[:4096], reg[8192:]}); err != nil {
		t.Fatal(err)
	}
	do(&core.Iocb{Op: core.OpPRead, Fd: fd, Buf: reg[8192 : 8192+4096], Offset: 4096})
	if !bytes.Equal(reg[8192:8192+4096], want[4096:8192]) {
		t.Fatal("a read into the second registered buffer read other bytes")
	}
}
