//go:build linux

package kaio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// FuzzFile runs a sequence of mixed calls, decoded from the input, on a
// kaio.File on every usable engine and on an os.File over a copy of the
// same file, and requires the same answers: the same counts, the same
// data, the same errors (io.EOF, or the same errno), the same file at the
// end. Some steps are batches of concurrent WriteAt and ReadAt calls on
// disjoint blocks from several goroutines; some drop the file's pages so
// that reads go through the ring instead of completing inline. The
// Contexts have 4 slots, so that batches wait for slots too. direct runs
// it all with O_DIRECT on both sides.
//
//	go test -run - -fuzz FuzzFile .
func FuzzFile(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false)
	f.Add([]byte{1, 0, 16, 0, 32, 0, 0, 0, 4, 0, 2, 7, 0, 9, 9, 9, 9, 9, 10}, false)
	f.Add([]byte{8, 3, 1, 5, 0, 0, 8, 2, 2, 2, 0, 1, 10, 0, 0, 0}, true)
	f.Add([]byte{3, 200, 0, 1, 4, 0, 0, 5, 1, 0, 0, 6, 7, 4, 255, 255, 255, 255}, true)
	f.Add(bytes.Repeat([]byte{8, 1, 9, 2}, 8), false)

	var ctxs []*kaio.Context
	for _, e := range fileEngines {
		for _, s := range kaio.Probe() {
			if s.Engine == e && s.Usable {
				c, err := kaio.Setup(4, kaio.WithEngine(e))
				if err != nil {
					f.Fatal(err)
				}
				ctxs = append(ctxs, c)
			}
		}
	}
	f.Cleanup(func() {
		for _, c := range ctxs {
			c.Destroy()
		}
	})
	plainDir, directDir := f.TempDir(), findDirectDir(f)

	f.Fuzz(func(t *testing.T, prog []byte, direct bool) {
		dir := plainDir
		if direct {
			if directDir == "" {
				t.Skip("no file system here takes O_DIRECT")
			}
			dir = directDir
		}
		for _, c := range ctxs {
			fuzzProgram(t, c, dir, prog, direct)
		}
	})
}

// fuzzProgram runs prog on a kaio.File on c and on an os.File.
func fuzzProgram(t *testing.T, c *kaio.Context, dir string, prog []byte, direct bool) {
	init := patterned(3*4096+100, byte(len(prog)))
	pk, po := filepath.Join(dir, "kaio-"+c.Engine().String()), filepath.Join(dir, "os-"+c.Engine().String())
	for _, p := range []string{pk, po} {
		if err := os.WriteFile(p, init, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flag := os.O_RDWR
	if direct {
		flag |= syscall.O_DIRECT
	}
	kf, err := kaio.OpenFile(pk, flag, 0, kaio.OnContext(c))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	of, err := os.OpenFile(po, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer of.Close()

	r := &progReader{b: prog}
	unit := int64(1)
	if direct {
		unit = 4096 // mostly aligned, so that O_DIRECT calls do something
	}
	// unaligned: an O_DIRECT call kaio refuses with EINVAL before the
	// kernel sees it (File's doc), where ext4 may fall back to buffered
	// I/O and succeed. Reads are then compared only when kaio did not
	// refuse, and os's offset is set back to kaio's; writes go to os
	// only when kaio took them.
	unaligned := func(off int64, n int) bool { return direct && (off|int64(n))%4096 != 0 }
	pos := func() int64 { p, _ := kf.Seek(0, io.SeekCurrent); return p }
	refused := func(err error) bool { return errors.Is(err, unix.EINVAL) }
	for step := 0; !r.done() && step < 64; step++ {
		op := r.byte() % 11
		where := fmt.Sprintf("%v step %d op %d", c.Engine(), step, op)
		switch op {
		case 0, 1: // ReadAt, ReadAtContext
			off, n := r.offLen(unit)
			bk, bo := kaio.AlignedBuffer(n), kaio.AlignedBuffer(n)
			var nk int
			var ek error
			if op == 0 {
				nk, ek = kf.ReadAt(bk, off)
			} else {
				nk, ek = kf.ReadAtContext(context.Background(), bk, off)
			}
			if unaligned(off, n) && refused(ek) {
				break
			}
			no, eo := of.ReadAt(bo, off)
			same(t, where+" ReadAt", nk, ek, no, eo)
			if !bytes.Equal(bk[:nk], bo[:no]) {
				t.Fatalf("%s: ReadAt(%d at %d) read other data", where, n, off)
			}
		case 2: // WriteAt
			off, n := r.offLen(unit)
			b := kaio.AlignedBuffer(n)
			copy(b, patterned(n, byte(step)))
			nk, ek := kf.WriteAt(b, off)
			if unaligned(off, n) && refused(ek) {
				break
			}
			no, eo := of.WriteAt(b, off)
			same(t, where+" WriteAt", nk, ek, no, eo)
		case 3: // Read
			_, n := r.offLen(unit)
			bk, bo := kaio.AlignedBuffer(n), kaio.AlignedBuffer(n)
			at := pos()
			nk, ek := kf.Read(bk)
			if unaligned(at, n) && refused(ek) {
				of.Seek(at, io.SeekStart)
				break
			}
			no, eo := of.Read(bo)
			same(t, where+" Read", nk, ek, no, eo)
			if !bytes.Equal(bk[:nk], bo[:no]) {
				t.Fatalf("%s: Read(%d) read other data", where, n)
			}
		case 4: // Write
			_, n := r.offLen(unit)
			b := kaio.AlignedBuffer(n)
			copy(b, patterned(n, byte(step+1)))
			at := pos()
			nk, ek := kf.Write(b)
			if unaligned(at, n) && refused(ek) {
				break
			}
			no, eo := of.Write(b)
			same(t, where+" Write", nk, ek, no, eo)
		case 5: // Seek
			off, _ := r.offLen(unit)
			whence := int(r.byte() % 3)
			if whence != io.SeekStart && r.byte()%2 == 0 {
				off = -off
			}
			pk, ek := kf.Seek(off, whence)
			po, eo := of.Seek(off, whence)
			same(t, where+" Seek", int(pk), ek, int(po), eo)
		case 6: // Truncate
			off, _ := r.offLen(unit)
			same(t, where+" Truncate", 0, kf.Truncate(off), 0, of.Truncate(off))
		case 7: // Sync, Datasync, Stat
			same(t, where+" Sync", 0, kf.Sync(), 0, of.Sync())
			same(t, where+" Datasync", 0, kf.Datasync(), 0, of.Sync())
			sk, ek := kf.Stat()
			so, eo := of.Stat()
			if (ek == nil) != (eo == nil) || ek == nil && sk.Size() != so.Size() {
				t.Fatalf("%s: Stat: %v, %v against %v, %v", where, sk, ek, so, eo)
			}
		case 8: // concurrent WriteAt then ReadAt of disjoint blocks
			concurrentBlocks(t, where, kf, of, int(r.byte()%16)+1, int64(r.byte()%8), byte(step))
		case 9: // drop the pages: the next reads go through the ring
			unix.Fadvise(int(kf.Fd()), 0, 0, unix.FADV_DONTNEED)
		case 10: // a cancelled context: nothing happens
			off, n := r.offLen(unit)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if nk, ek := kf.WriteAtContext(ctx, kaio.AlignedBuffer(n), off); nk != 0 || ek != context.Canceled {
				t.Fatalf("%s: WriteAtContext with a cancelled context: %d, %v", where, nk, ek)
			}
		}
	}
	kf.Sync()
	gk, err1 := os.ReadFile(pk)
	gko, err2 := os.ReadFile(po)
	if err1 != nil || err2 != nil || !bytes.Equal(gk, gko) {
		t.Fatalf("%v: the files differ at the end (%d and %d bytes; %v, %v)", c.Engine(), len(gk), len(gko), err1, err2)
	}
}

// concurrentBlocks writes k disjoint 4 KiB blocks from k goroutines at
// once through kf, and the same blocks through of, then reads them back
// from k goroutines and compares.
func concurrentBlocks(t *testing.T, where string, kf *kaio.File, of *os.File, k int, base int64, seed byte) {
	var wg sync.WaitGroup
	errs := make(chan error, 2*k)
	for i := 0; i < k; i++ {
		off := (base + int64(i)) * 4096
		b := kaio.AlignedBuffer(4096)
		copy(b, patterned(4096, seed+byte(i)))
		if _, err := of.WriteAt(b, off); err != nil {
			t.Fatalf("%s: os WriteAt: %v", where, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := kf.WriteAt(b, off); n != 4096 || err != nil {
				errs <- fmt.Errorf("WriteAt(4096 at %d): %d, %v", off, n, err)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < k; i++ {
		off := (base + int64(i)) * 4096
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := kaio.AlignedBuffer(4096)
			if n, err := kf.ReadAt(b, off); n != 4096 || err != nil || !bytes.Equal(b, patterned(4096, seed+byte(off/4096-base))) {
				errs <- fmt.Errorf("ReadAt(4096 at %d): %d, %v", off, n, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%s: %v", where, err)
	}
}

// same fails t unless kaio's answer (nk, ek) is os's (no, eo): the same
// count and the same error, io.EOF or an errno.
func same(t *testing.T, what string, nk int, ek error, no int, eo error) {
	t.Helper()
	if nk != no || errClass(ek) != errClass(eo) {
		t.Fatalf("%s: kaio %d, %v; os %d, %v", what, nk, ek, no, eo)
	}
}

// errClass names an error by what a caller can test: nil, io.EOF, or its
// errno.
func errClass(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "nil"
	case err == io.EOF:
		return "EOF"
	case errors.As(err, &errno):
		return errno.Error()
	}
	return err.Error()
}

// progReader decodes a fuzz input.
type progReader struct {
	b []byte
	i int
}

func (r *progReader) done() bool { return r.i >= len(r.b) }

func (r *progReader) byte() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

// offLen is an offset within a few blocks past the file's first size, and
// a length up to 64 KiB, both mostly multiples of unit.
func (r *progReader) offLen(unit int64) (int64, int) {
	a, b := r.byte(), r.byte()
	off := int64(a%32) * unit
	n := (int(b%16) + 1) * int(unit)
	if unit == 1 {
		off, n = int64(a)*97, int(b)*257
	}
	if a&0x80 != 0 && unit > 1 {
		off += int64(a % 7) // now and then unaligned: EINVAL on both sides
	}
	return off, n
}
