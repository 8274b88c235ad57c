package stress

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on x86-64 and arm64
// with 4 KiB pages; elsewhere the advice merely does less.
const hugePage = 2 << 20

// buffers is the one region all io units' buffers are cut from, as the
// classic's setup_shared_mem does, so -m can put them all in shm.
type buffers struct {
	mem     []byte // the whole mapping or segment
	aligned []byte // mem from the first aligned byte on
	release func() error
}

// allocBuffers maps size bytes aligned to align from the source m. The
// classic mallocs; anonymous mmap gives the same memory but fails with
// ENOMEM, instead of the process dying, when the size is absurd.
//
// The malloc buffers start on a huge page boundary and are advised to be
// transparent huge pages, where the kernel allows it: the classic's 64
// units of 64 KiB span 1,024 small pages, and the kernel's copies to and
// from them miss the TLB on a page walk each, which a pread into one
// buffer does not (see docs/performance.md, "Inside Docker's seccomp
// profile").
func allocBuffers(m Mem, size, align int64) (*buffers, error) {
	if m == MemMalloc && size >= hugePage && hugePage%align == 0 {
		align = hugePage
	}
	total := size + align
	if total > int64(^uint(0)>>1) {
		return nil, fmt.Errorf("unable to allocate buffers: %d bytes", total)
	}
	b := &buffers{}
	switch m {
	case MemMalloc:
		mem, err := unix.Mmap(-1, 0, int(total), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return nil, fmt.Errorf("unable to allocate buffers: %d bytes: %v", total, err)
		}
		if align == hugePage {
			// Only advice: without THP (or with it off) the pages are
			// small, as the classic's.
			unix.Madvise(mem, unix.MADV_HUGEPAGE)
		}
		b.mem, b.release = mem, func() error { return unix.Munmap(mem) }
	case MemSHM:
		id, err := unix.SysvShmGet(unix.IPC_PRIVATE, int(total), unix.IPC_CREAT|0o700)
		if err != nil {
			return nil, fmt.Errorf("shmget: %v", err)
		}
		mem, err := unix.SysvShmAttach(id, 0, 0)
		// As the classic's drop_shm: mark it removed now; it goes away
		// when detached, even if this process dies.
		if _, cerr := unix.SysvShmCtl(id, unix.IPC_RMID, nil); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("shmat: %v", err)
		}
		b.mem, b.release = mem, func() error { return unix.SysvShmDetach(mem) }
	case MemSHMFS:
		f, err := os.CreateTemp("/dev/shm", "aio-stress-")
		if err != nil {
			return nil, fmt.Errorf("mkstemp: %v", err)
		}
		os.Remove(f.Name())
		defer f.Close() // the mapping keeps the memory
		if err := f.Truncate(total); err != nil {
			return nil, fmt.Errorf("ftruncate %s: %v", f.Name(), err)
		}
		mem, err := unix.Mmap(int(f.Fd()), 0, int(total), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("mmap: %v", err)
		}
		b.mem, b.release = mem, func() error { return unix.Munmap(mem) }
	}
	skip := (align - int64(addrOf(b.mem))%align) % align
	b.aligned = b.mem[skip:]
	return b, nil
}

func (b *buffers) free() {
	if b != nil && b.release != nil {
		b.release()
		b.release = nil
	}
}
