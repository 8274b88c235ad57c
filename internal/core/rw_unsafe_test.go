//go:build linux

package core

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestRWvOffsetAbove4GiB: a write and a read past 4 GiB land where they
// were asked, raw and not, on every architecture. On 32-bit Linux the
// offset travels in two registers (pos_l, pos_h); passed in one, its high
// half was lost and the write landed 4 GiB early, silently.
func TestRWvOffsetAbove4GiB(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	const off = 1<<32 + 4096
	for _, raw := range []bool{false, true} {
		data := []byte("Syscall6: past four gigabytes")
		if raw {
			data = []byte("RawSyscall6: past four gigabytes")
		}
		iov := []unix.Iovec{{Base: &data[0]}}
		iov[0].SetLen(len(data))
		if n, e := RWv(true, fd, iov, off, 0, raw); e != 0 || n != len(data) {
			if e == unix.EFBIG {
				t.Skipf("the file system here refuses an offset of %d: %v", int64(off), e)
			}
			t.Fatalf("pwritev2 at %d (raw %v): %d, %v", int64(off), raw, n, e)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		if st.Size != off+int64(len(data)) {
			t.Fatalf("raw %v: file size %d after a write at %d, want %d", raw, st.Size, int64(off), off+int64(len(data)))
		}
		back := make([]byte, len(data))
		if n, err := unix.Pread(fd, back, off); err != nil || n != len(back) || !bytes.Equal(back, data) {
			t.Fatalf("raw %v: pread at %d: %d, %v, %q; want %q", raw, int64(off), n, err, back, data)
		}
		clear(back)
		iov[0].Base = &back[0]
		if n, e := RWv(false, fd, iov, off, 0, raw); e != 0 || n != len(back) || !bytes.Equal(back, data) {
			t.Fatalf("raw %v: preadv2 at %d: %d, %v, %q; want %q", raw, int64(off), n, e, back, data)
		}
	}
}

// TestPosLoHi: the halves as the kernel's pos_from_hilo joins them.
func TestPosLoHi(t *testing.T) {
	const bits = unsafe.Sizeof(uintptr(0)) * 8
	for _, off := range []int64{0, 1, 1<<31 - 1, 1 << 31, 1<<32 + 5, 1<<62 + 3, -1} {
		lo, hi := posLoHi(off)
		got := int64(uint64(hi)<<(bits/2)<<(bits/2) | uint64(lo))
		if got != off {
			t.Errorf("posLoHi(%d) = %#x, %#x: joins to %d", off, lo, hi, got)
		}
		if bits == 64 && hi != 0 {
			t.Errorf("posLoHi(%d) on 64-bit: pos_h %#x, want 0", off, hi)
		}
	}
}
