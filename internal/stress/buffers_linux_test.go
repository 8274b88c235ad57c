package stress

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// vmFlags is the VmFlags line of the mapping of /proc/self/smaps that
// holds addr.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps to read the advice from: %v", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return line
		}
	}
	t.Fatalf("no mapping of /proc/self/smaps holds %#x", addr)
	return ""
}

// The classic's default buffers, 64 units of 64 KiB, start on a huge page
// and are advised to be transparent huge pages; buffers smaller than a
// huge page keep the alignment -a asked for, and the shm kinds are left
// as they are.
func TestBuffersHugePages(t *testing.T) {
	size := int64(64+1) * 64 * kib
	b, err := allocBuffers(MemMalloc, size, 4*kib)
	if err != nil {
		t.Fatal(err)
	}
	defer b.free()
	if a := addrOf(b.aligned); a%hugePage != 0 {
		t.Errorf("buffers at %#x: not on a %d-byte boundary", a, hugePage)
	}
	if int64(len(b.aligned)) < size {
		t.Errorf("%d bytes after alignment, want at least %d", len(b.aligned), size)
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		t.Logf("kernel without transparent huge pages: advice not checked (%v)", err)
	} else if fl := vmFlags(t, addrOf(b.aligned)); !strings.Contains(fl+" ", " hg ") {
		t.Errorf("buffers not advised MADV_HUGEPAGE: %s", fl)
	}

	small, err := allocBuffers(MemMalloc, 3*4*kib, 8*kib)
	if err != nil {
		t.Fatal(err)
	}
	defer small.free()
	if a := addrOf(small.aligned); a%uintptr(8*kib) != 0 || int64(len(small.aligned)) < 3*4*kib {
		t.Errorf("small buffers at %#x, %d bytes: want 8 KiB aligned, at least 12 KiB", a, len(small.aligned))
	}

	// An alignment above a huge page is kept as asked.
	big, err := allocBuffers(MemMalloc, size, 4*hugePage)
	if err != nil {
		t.Fatal(err)
	}
	defer big.free()
	if a := addrOf(big.aligned); a%uintptr(4*hugePage) != 0 {
		t.Errorf("buffers at %#x: not on the %d-byte boundary -a asked for", a, 4*hugePage)
	}
}

// cutBuffers faults every unit in, as the classic's memset of each
// buffer does, so that the first stage's timing does not take the page
// faults; the units hold zeros, or the 'b' pattern when verifying.
func TestCutBuffersFaultsIn(t *testing.T) {
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			cfg := Config{RecLen: 64 * kib, Align: 4 * kib, Depth: 64, Verify: verify}
			threads := []*thread{{numFiles: 1}, {numFiles: 2}}
			units := int64(3 * cfg.Depth)
			b, err := allocBuffers(MemMalloc, (units+1)*cfg.RecLen, cfg.Align)
			if err != nil {
				t.Fatal(err)
			}
			defer b.free()
			resident := func(mem []byte) (n int) {
				vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
				_, _, errno := unix.Syscall(unix.SYS_MINCORE, addrOf(mem), uintptr(len(mem)), addrOf(vec))
				if errno != 0 {
					t.Fatalf("mincore: %v", errno)
				}
				for _, v := range vec {
					n += int(v & 1)
				}
				return n
			}
			pages := int(units * cfg.RecLen / int64(os.Getpagesize()))
			if n := resident(b.aligned[:units*cfg.RecLen]); n == pages {
				t.Skipf("all %d pages resident before cutting: nothing to tell", n)
			}

			region, vbuf := cutBuffers(threads, b.aligned, &cfg, 8)
			if int64(len(region)) != units*cfg.RecLen {
				t.Fatalf("region of %d bytes, want %d", len(region), units*cfg.RecLen)
			}
			if n := resident(region); n != pages {
				t.Errorf("%d of %d pages resident after cutting", n, pages)
			}
			want := byte(0)
			if verify {
				want = 'b'
			}
			for ti, th := range threads {
				if len(th.ios) != th.numFiles*cfg.Depth {
					t.Fatalf("thread %d: %d units, want %d", ti, len(th.ios), th.numFiles*cfg.Depth)
				}
				for i := range th.ios {
					for k, c := range th.ios[i].buf {
						if c != want {
							t.Fatalf("thread %d unit %d byte %d = %q, want %q", ti, i, k, c, want)
						}
					}
				}
			}
			if len(vbuf) != int(cfg.RecLen) || vbuf[0] != 'b' || vbuf[len(vbuf)-1] != 'b' {
				t.Errorf("verify pattern: %d bytes starting %q", len(vbuf), vbuf[:1])
			}
		})
	}
}
