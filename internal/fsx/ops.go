//go:build linux

package fsx

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// The operations. Offsets and sizes are C unsigned ints, as in the C tool,
// so that their arithmetic (and the lines they print) is the same.

// simulating reports whether the current op is before -b's start: it is
// logged and drawn but not done.
func (f *fsx) simulating() bool { return f.testcalls <= f.simulated }

// showRW is the condition under which reads and writes print their -d line.
func (f *fsx) showRW(offset, size uint32) bool {
	c := f.cfg
	return !c.Quiet && ((c.Progress != 0 && f.testcalls%c.Progress == 0) ||
		(f.debug && (c.MonitorStart == -1 ||
			(int64(offset+size) > c.MonitorStart && (c.MonitorEnd == -1 || int64(offset) <= c.MonitorEnd)))))
}

// showSize is the condition of truncate and the fallocate family (which,
// unlike reads and writes, print even with -q).
func (f *fsx) showSize(end uint32) bool {
	c := f.cfg
	return (c.Progress != 0 && f.testcalls%c.Progress == 0) ||
		(f.debug && (c.MonitorStart == -1 || c.MonitorEnd == -1 || int64(end) <= c.MonitorEnd))
}

// showDest is the condition of clone, dedupe, copy and exchange.
func (f *fsx) showDest(dest, length uint32) bool {
	c := f.cfg
	return (c.Progress != 0 && f.testcalls%c.Progress == 0) ||
		(f.debug && (c.MonitorStart == -1 || c.MonitorEnd == -1 ||
			int64(dest) <= c.MonitorStart || int64(dest+length) <= c.MonitorEnd))
}

// skip prints a "skipping ..." line, unless quiet or simulating.
func (f *fsx) skip(msg string) {
	if !f.cfg.Quiet && !f.simulating() {
		f.prt("%s\n", msg)
	}
}

func (f *fsx) doRead(offset, size uint32, flags int) {
	rb := uint32(f.cfg.ReadBdy)
	offset -= offset % rb
	if f.cfg.Direct {
		size -= size % rb
	}
	if size == 0 {
		if !f.cfg.Quiet && !f.simulating() && !f.cfg.Direct {
			f.prt("skipping zero size read\n")
		}
		f.log4(opRead, offset, size, flSkipped)
		return
	}
	if int64(size+offset) > f.fileSize {
		f.skip("skipping seek/read past end of file")
		f.log4(opRead, offset, size, flSkipped)
		return
	}
	f.log4(opRead, offset, size, 0)
	if f.simulating() {
		return
	}
	if f.showRW(offset, size) {
		f.prt("%d read\t0x%x thru\t0x%x\t(0x%x bytes)\n", f.testcalls, offset, offset+size-1, size)
	}
	n, err := f.io.read(f.fd, f.temp[:size], int64(offset), flags)
	if n != int(size) {
		if err != nil {
			f.prterr("doread: read", err)
		} else {
			f.prt("short read: 0x%x bytes instead of 0x%x\n", uint32(n), size)
		}
		f.reportFailure(141)
	}
	f.checkBuffers(f.temp, offset, size)
}

// checkEOFPage checks that the mapped page holding EOF reads zero past EOF
// (POSIX 1003.1-1996 mmap). m is the mapping, which starts at the page of
// offset and covers whole pages.
func (f *fsx) checkEOFPage(s string, offset uint32, m []byte, size uint32) {
	pm := uint32(f.pageMask)
	if int64(offset+size) <= f.fileSize&^int64(pm) {
		return
	}
	lastPage := int((offset&pm + size) &^ pm)
	for i := lastPage + int(f.fileSize&int64(pm)); i < lastPage+f.pageSize; i++ {
		if m[i] != 0 {
			f.prt("Mapped %s: non-zero data past EOF (0x%x) page offset 0x%x is 0x%04x\n",
				s, f.fileSize-1, i&f.pageMask, shortAt(m, i))
			f.reportFailure(205)
		}
	}
}

// mmap maps [off, off+size) of the test file for the C function fn,
// rounded out to whole pages so that the EOF page can be checked past size
// (as C can through its pointer). Until munmap, a fault in the mapping
// (SIGBUS: the file system cannot back a page) is reported as fn's; see
// mapFault.
func (f *fsx) mmap(fn string, off int64, size int, prot int) ([]byte, error) {
	n := (size + f.pageMask) &^ f.pageMask
	m, err := unix.Mmap(f.fd, off, n, prot, unix.MAP_SHARED)
	if err == nil {
		f.mapping = liveMap{m: m, off: off, fn: fn}
	}
	return m, err
}

// munmap unmaps what mmap mapped.
func (f *fsx) munmap(m []byte) error {
	f.mapping = liveMap{}
	return unix.Munmap(m)
}

func (f *fsx) checkContents() {
	size := uint32(f.fileSize)
	if f.checkBuf == nil {
		f.checkBuf = alignUp(make([]byte, int(f.maxFileLen)+f.cfg.WriteBdy), f.cfg.WriteBdy)
	}
	if f.cfg.Direct {
		size -= size % uint32(f.cfg.ReadBdy)
	}
	if size == 0 {
		return
	}
	n, err := f.io.read(f.fd, f.checkBuf[:size], 0, 0)
	if n != int(size) {
		if err != nil {
			f.prterr("check_contents: read", err)
		} else {
			f.prt("short check read: 0x%x bytes instead of 0x%x\n", uint32(n), size)
		}
		f.reportFailure(141)
	}
	f.checkBuffers(f.checkBuf, 0, size)

	// Map the EOF page and check it.
	ps := uint32(f.pageSize)
	mapOffset := size - size&uint32(f.pageMask)
	if mapOffset == size {
		mapOffset -= ps
	}
	mapSize := size - mapOffset
	m, err := f.mmap("check_contents", int64(mapOffset), int(mapSize), unix.PROT_READ)
	if err != nil {
		f.prterr("check_contents: mmap", err)
		f.reportFailure(190)
	}
	f.checkEOFPage("check_contents", mapOffset, m, mapSize)
	if err := f.munmap(m); err != nil {
		f.prterr("check_contents: munmap", err)
		f.reportFailure(191)
	}
}

func (f *fsx) doMapRead(offset, size uint32) {
	offset -= offset % uint32(f.cfg.ReadBdy)
	if size == 0 {
		f.skip("skipping zero size read")
		f.log4(opMapRead, offset, size, flSkipped)
		return
	}
	if int64(size+offset) > f.fileSize {
		f.skip("skipping seek/read past end of file")
		f.log4(opMapRead, offset, size, flSkipped)
		return
	}
	f.log4(opMapRead, offset, size, 0)
	if f.simulating() {
		return
	}
	if f.showRW(offset, size) {
		f.prt("%d mapread\t0x%x thru\t0x%x\t(0x%x bytes)\n", f.testcalls, offset, offset+size-1, size)
	}
	pgOffset := offset & uint32(f.pageMask)
	m, err := f.mmap("domapread", int64(offset-pgOffset), int(pgOffset+size), unix.PROT_READ)
	if err != nil {
		f.prterr("domapread: mmap", err)
		f.reportFailure(190)
	}
	copy(f.temp[:size], m[pgOffset:pgOffset+size])
	f.checkEOFPage("Read", offset, m, size)
	if err := f.munmap(m); err != nil {
		f.prterr("domapread: munmap", err)
		f.reportFailure(191)
	}
	f.checkBuffers(f.temp, offset, size)
}

// gendata fills buf[offset:offset+size] with the data of this operation:
// the op number mod 256, plus the original data at odd offsets (or -g's
// byte).
func (f *fsx) gendata(buf []byte, offset, size uint32) {
	if f.cfg.FillData != 0 {
		fill := f.cfg.FillData
		for i := offset; i < offset+size; i++ {
			buf[i] = fill
		}
		return
	}
	v := byte(f.testcalls % 256)
	b := buf[offset : offset+size]
	orig := f.original
	for i := range b {
		o := offset + uint32(i)
		if o%2 != 0 {
			b[i] = v + orig[o]
		} else {
			b[i] = v
		}
	}
}

// polluteEOFPage writes data past EOF in the EOF page before a size
// change (-e 1), which the size change must zero.
func (f *fsx) polluteEOFPage(maxoff uint32) {
	if !f.cfg.PolluteEOF || f.simulating() {
		return
	}
	offset := uint32(f.fileSize)
	pgOffset := offset & uint32(f.pageMask)
	writeSize := min(uint32(f.pageSize)-pgOffset, maxoff-offset)
	if pgOffset == 0 {
		return
	}
	if !f.cfg.Quiet && f.showRW(offset, writeSize) {
		f.prt("%d pollute_eof\t0x%x thru\t0x%x\t(0x%x bytes)\n", f.testcalls, offset, offset+writeSize-1, writeSize)
	}
	m, err := f.mmap("pollute_eofpage", int64(offset-pgOffset), f.pageSize, unix.PROT_READ|unix.PROT_WRITE)
	if err != nil {
		f.prterr("pollute_eofpage: mmap", err)
		return
	}
	// As in the C tool, the data is generated with the page offset as the
	// index into the original data.
	f.gendata(m, pgOffset, writeSize)
	if err := f.munmap(m); err != nil {
		f.prterr("pollute_eofpage: munmap", err)
	}
}

// updateFileSize sets the file size to offset+size, zeroing the image from
// the old EOF to offset when offset is past it.
func (f *fsx) updateFileSize(offset, size uint32) {
	if int64(offset) > f.fileSize {
		f.polluteEOFPage(offset + size)
		clear(f.good[f.fileSize:offset])
	}
	f.fileSize = int64(offset + size)
}

func roundDownPow2(n int32) int32 {
	if n&(n-1) == 0 {
		return n
	}
	i := 0
	for ; int32(1)<<i < n; i++ {
	}
	return 1 << (i - 1)
}

func (f *fsx) doWrite(offset, size uint32, flags int) {
	wb := uint32(f.cfg.WriteBdy)
	offset -= offset % wb
	if f.cfg.Direct {
		size -= size % wb
	}
	if flags&unix.RWF_ATOMIC != 0 {
		size = max(size, f.awuMin)
		size = min(size, f.awuMax)
		size = uint32(roundDownPow2(int32(size)))
		offset -= offset % size
		if uint64(offset+size) > f.maxFileLen {
			f.skip("skipping atomic write past maxfilelen")
			f.log4(opWriteAtomic, offset, size, flSkipped)
			return
		}
	}
	if size == 0 {
		if !f.cfg.Quiet && !f.simulating() && !f.cfg.Direct {
			f.prt("skipping zero size write\n")
		}
		f.log4(opWrite, offset, size, flSkipped)
		return
	}
	if flags&unix.RWF_ATOMIC != 0 {
		f.log4(opWriteAtomic, offset, size, 0)
	} else {
		f.log4(opWrite, offset, size, 0)
	}
	f.gendata(f.good, offset, size)
	if int64(offset+size) > f.fileSize {
		f.updateFileSize(offset, size)
		if f.cfg.Lite {
			f.warn(nil, "Lite file size bug in fsx!")
			f.reportFailure(149)
		}
	}
	if f.simulating() {
		return
	}
	if f.showRW(offset, size) {
		f.prt("%d write\t0x%x thru\t0x%x\t(0x%x bytes)\tdontcache=%d atomic_wr=%d\n", f.testcalls,
			offset, offset+size-1, size, b2i(flags&unix.RWF_DONTCACHE != 0), b2i(flags&unix.RWF_ATOMIC != 0))
	}
	n, err := f.io.write(f.fd, f.good[offset:offset+size], int64(offset), flags)
	if n != int(size) {
		if err != nil {
			f.prterr("dowrite: write", err)
		} else {
			f.prt("short write: 0x%x bytes instead of 0x%x\n", uint32(n), size)
		}
		f.reportFailure(151)
	}
	if f.cfg.Fsync {
		if err := unix.Fsync(f.fd); err != nil {
			f.prt("fsync() failed: %s\n", strerror(err))
			f.reportFailure(152)
		}
	}
	if f.cfg.Flush {
		f.doFlush(offset, size)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// doFlush invalidates the written range's cached pages (-f).
func (f *fsx) doFlush(offset, size uint32) {
	if f.cfg.Direct {
		return
	}
	pgOffset := offset & uint32(f.pageMask)
	mapSize := pgOffset + size
	m, err := f.mmap("doflush", int64(offset-pgOffset), int(mapSize), unix.PROT_READ|unix.PROT_WRITE)
	if err != nil {
		f.prterr("doflush: mmap", err)
		f.reportFailure(202)
	}
	if err := unix.Msync(m[:mapSize], unix.MS_INVALIDATE); err != nil {
		f.prterr("doflush: msync", err)
		f.reportFailure(203)
	}
	if err := f.munmap(m); err != nil {
		f.prterr("doflush: munmap", err)
		f.reportFailure(204)
	}
}

func (f *fsx) doMapWrite(offset, size uint32) {
	offset -= offset % uint32(f.cfg.WriteBdy)
	if size == 0 {
		f.skip("skipping zero size write")
		f.log4(opMapWrite, offset, size, flSkipped)
		return
	}
	curSize := f.fileSize
	f.log4(opMapWrite, offset, size, 0)
	f.gendata(f.good, offset, size)
	if int64(offset+size) > f.fileSize {
		f.updateFileSize(offset, size)
		if f.cfg.Lite {
			f.warn(nil, "Lite file size bug in fsx!")
			f.reportFailure(200)
		}
	}
	if f.simulating() {
		return
	}
	if f.showRW(offset, size) {
		f.prt("%d mapwrite\t0x%x thru\t0x%x\t(0x%x bytes)\n", f.testcalls, offset, offset+size-1, size)
	}
	if f.fileSize > curSize {
		if err := unix.Ftruncate(f.fd, f.fileSize); err != nil {
			f.prterr("domapwrite: ftruncate", err)
			f.die(201)
		}
	}
	pgOffset := offset & uint32(f.pageMask)
	mapSize := pgOffset + size
	m, err := f.mmap("domapwrite", int64(offset-pgOffset), int(mapSize), unix.PROT_READ|unix.PROT_WRITE)
	if err != nil {
		f.prterr("domapwrite: mmap", err)
		f.reportFailure(202)
	}
	copy(m[pgOffset:mapSize], f.good[offset:offset+size])
	if err := unix.Msync(m[:mapSize], unix.MS_SYNC); err != nil {
		f.prterr("domapwrite: msync", err)
		f.reportFailure(203)
	}
	f.checkEOFPage("Write", offset, m, size)
	if err := f.munmap(m); err != nil {
		f.prterr("domapwrite: munmap", err)
		f.reportFailure(204)
	}
}

func (f *fsx) doTruncate(size uint32) {
	oldsize := int32(f.fileSize)
	size -= size % uint32(f.cfg.TruncBdy)
	if int64(size) > f.biggest {
		f.biggest = int64(size)
		f.skip(fmt.Sprintf("truncating to largest ever: 0x%x", size))
	}
	f.log4(opTruncate, 0, size, 0)
	// Pollute the current EOF before a truncate down.
	if int64(size) < f.fileSize {
		f.polluteEOFPage(uint32(f.maxFileLen))
	}
	f.updateFileSize(size, 0)
	if f.simulating() {
		return
	}
	if f.showSize(size) {
		f.prt("%d trunc\tfrom 0x%x to 0x%x\n", f.testcalls, uint32(oldsize), size)
	}
	if err := unix.Ftruncate(f.fd, int64(size)); err != nil {
		f.xfszPending(err)
		f.prt("ftruncate1: %x\n", size)
		f.prterr("dotruncate: ftruncate", err)
		f.reportFailure(160)
	}
}

func (f *fsx) doPunchHole(offset, length uint32) {
	if length == 0 {
		f.skip("skipping zero length punch hole")
		f.log4(opPunchHole, offset, length, flSkipped)
		return
	}
	if f.fileSize <= int64(offset) {
		f.skip("skipping hole punch off the end of the file")
		f.log4(opPunchHole, offset, length, flSkipped)
		return
	}
	end := offset + length
	f.log4(opPunchHole, offset, length, 0)
	if f.simulating() {
		return
	}
	if f.showSize(end) {
		f.prt("%d punch\tfrom 0x%x to 0x%x, (0x%x bytes)\n", f.testcalls, offset, offset+length, length)
	}
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(offset), int64(length)); err != nil {
		f.xfszPending(err)
		f.prt("punch hole: 0x%x to 0x%x\n", offset, offset+length)
		f.prterr("do_punch_hole: fallocate", err)
		f.reportFailure(161)
	}
	maxOffset := int64(offset)
	if maxOffset > f.fileSize {
		maxOffset = f.fileSize
	}
	maxLen := int64(length)
	if maxOffset+maxLen > f.fileSize {
		maxLen = f.fileSize - maxOffset
	}
	clear(f.good[maxOffset : maxOffset+maxLen])
}

func (f *fsx) doZeroRange(offset, length uint32, keepSize bool) {
	mode := uint32(unix.FALLOC_FL_ZERO_RANGE)
	fl := 0
	if keepSize {
		mode |= unix.FALLOC_FL_KEEP_SIZE
		fl = flKeepSize
	}
	if length == 0 {
		f.skip("skipping zero length zero range")
		f.log4(opZeroRange, offset, length, flSkipped|fl)
		return
	}
	var end uint32
	if !keepSize {
		end = offset + length
	}
	if int64(end) > f.biggest {
		f.biggest = int64(end)
		f.skip(fmt.Sprintf("zero_range to largest ever: 0x%x", end))
	}
	f.log4(opZeroRange, offset, length, fl)
	if !keepSize && int64(end) > f.fileSize {
		f.updateFileSize(offset, length)
	}
	if f.simulating() {
		return
	}
	if f.showSize(end) {
		f.prt("%d zero\tfrom 0x%x to 0x%x, (0x%x bytes)\n", f.testcalls, offset, offset+length, length)
	}
	if err := unix.Fallocate(f.fd, mode, int64(offset), int64(length)); err != nil {
		f.xfszPending(err)
		f.prt("zero range: 0x%x to 0x%x\n", offset, offset+length)
		f.prterr("do_zero_range: fallocate", err)
		f.reportFailure(161)
	}
	clear(f.good[offset : offset+length])
}

func (f *fsx) doCollapseRange(offset, length uint32) {
	if length == 0 {
		f.skip("skipping zero length collapse range")
		f.log4(opCollapseRange, offset, length, flSkipped)
		return
	}
	end := offset + length
	if int64(end) >= f.fileSize {
		f.skip("skipping collapse range behind EOF")
		f.log4(opCollapseRange, offset, length, flSkipped)
		return
	}
	f.log4(opCollapseRange, offset, length, 0)
	// Pollute the current EOF before collapse truncates down.
	f.polluteEOFPage(uint32(f.maxFileLen))
	if f.simulating() {
		return
	}
	if f.showSize(end) {
		f.prt("%d collapse\tfrom 0x%x to 0x%x, (0x%x bytes)\n", f.testcalls, offset, offset+length, length)
	}
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_COLLAPSE_RANGE, int64(offset), int64(length)); err != nil {
		f.xfszPending(err)
		f.prt("collapse range: 0x%x to 0x%x\n", offset, offset+length)
		f.prterr("do_collapse_range: fallocate", err)
		f.reportFailure(161)
	}
	copy(f.good[offset:], f.good[end:f.fileSize])
	f.fileSize -= int64(length)
}

func (f *fsx) doInsertRange(offset, length uint32) {
	if length == 0 {
		f.skip("skipping zero length insert range")
		f.log4(opInsertRange, offset, length, flSkipped)
		return
	}
	if int64(offset) >= f.fileSize {
		f.skip("skipping insert range behind EOF")
		f.log4(opInsertRange, offset, length, flSkipped)
		return
	}
	f.log4(opInsertRange, offset, length, 0)
	// Pollute the current EOF before insert truncates up.
	f.polluteEOFPage(uint32(f.maxFileLen))
	if f.simulating() {
		return
	}
	end := offset + length
	if f.showSize(end) {
		f.prt("%d insert\tfrom 0x%x to 0x%x, (0x%x bytes)\n", f.testcalls, offset, offset+length, length)
	}
	if err := unix.Fallocate(f.fd, unix.FALLOC_FL_INSERT_RANGE, int64(offset), int64(length)); err != nil {
		f.xfszPending(err)
		f.prt("insert range: 0x%x to 0x%x\n", offset, offset+length)
		f.prterr("do_insert_range: fallocate", err)
		f.reportFailure(161)
	}
	copy(f.good[end:], f.good[offset:f.fileSize])
	clear(f.good[offset:end])
	f.fileSize += int64(length)
}

func (f *fsx) doExchangeRange(offset, length, dest uint32) {
	if length == 0 {
		f.skip("skipping zero length exchange range")
		f.log5(opExchangeRange, offset, length, dest, flSkipped)
		return
	}
	if int64(offset) >= f.fileSize || int64(dest) >= f.fileSize {
		f.skip("skipping exchange range behind EOF")
		f.log5(opExchangeRange, offset, length, dest, flSkipped)
		return
	}
	f.log5(opExchangeRange, offset, length, dest, 0)
	if f.simulating() {
		return
	}
	if f.showDest(dest, length) {
		f.prt("%d swap\tfrom 0x%x to 0x%x, (0x%x bytes) at 0x%x\n", f.testcalls, offset, offset+length, length, dest)
	}
	r := &xfsExchangeRange{file1Fd: int32(f.fd), file1Offset: uint64(offset), file2Offset: uint64(dest), length: uint64(length)}
	if err := exchangeRange(f.fd, r); err != nil {
		f.xfszPending(err)
		f.prt("exchange range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
		f.prterr("do_exchange_range: XFS_IOC_EXCHANGE_RANGE", err)
		f.reportFailure(161)
	}
	p := make([]byte, length)
	copy(p, f.good[offset:offset+length])
	copy(f.good[offset:offset+length], f.good[dest:dest+length])
	copy(f.good[dest:dest+length], p)
}

func (f *fsx) doCloneRange(offset, length, dest uint32) {
	if length == 0 {
		f.skip("skipping zero length clone range")
		f.log5(opCloneRange, offset, length, dest, flSkipped)
		return
	}
	if int64(offset) >= f.fileSize {
		f.skip("skipping clone range behind EOF")
		f.log5(opCloneRange, offset, length, dest, flSkipped)
		return
	}
	if int64(dest+length) > f.biggest {
		f.biggest = int64(dest + length)
		f.skip(fmt.Sprintf("cloning to largest ever: 0x%x", dest+length))
	}
	f.log5(opCloneRange, offset, length, dest, 0)
	if int64(dest+length) > f.fileSize {
		f.updateFileSize(dest, length)
	}
	if f.simulating() {
		return
	}
	if f.showDest(dest, length) {
		f.prt("%d clone\tfrom 0x%x to 0x%x, (0x%x bytes) at 0x%x\n", f.testcalls, offset, offset+length, length, dest)
	}
	r := &unix.FileCloneRange{Src_fd: int64(f.fd), Src_offset: uint64(offset), Src_length: uint64(length), Dest_offset: uint64(dest)}
	if err := unix.IoctlFileCloneRange(f.fd, r); err != nil {
		f.xfszPending(err)
		f.prt("clone range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
		f.prterr("do_clone_range: FICLONERANGE", err)
		f.reportFailure(161)
	}
	copy(f.good[dest:dest+length], f.good[offset:offset+length])
}

func (f *fsx) doDedupeRange(offset, length, dest uint32) {
	if length == 0 {
		f.skip("skipping zero length dedupe range")
		f.log5(opDedupeRange, offset, length, dest, flSkipped)
		return
	}
	if int64(offset) >= f.fileSize {
		f.skip("skipping dedupe range behind EOF")
		f.log5(opDedupeRange, offset, length, dest, flSkipped)
		return
	}
	f.log5(opDedupeRange, offset, length, dest, 0)
	if f.simulating() {
		return
	}
	if f.showDest(dest, length) {
		f.prt("%d dedupe\tfrom 0x%x to 0x%x, (0x%x bytes) at 0x%x\n", f.testcalls, offset, offset+length, length, dest)
	}
	r := &unix.FileDedupeRange{
		Src_offset: uint64(offset),
		Src_length: uint64(length),
		Info:       []unix.FileDedupeRangeInfo{{Dest_fd: int64(f.fd), Dest_offset: uint64(dest)}},
	}
	if err := unix.IoctlFileDedupeRange(f.fd, r); err != nil {
		f.xfszPending(err)
		f.prt("dedupe range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
		f.prterr("do_dedupe_range(0): FIDEDUPERANGE", err)
		f.reportFailure(161)
	} else if r.Info[0].Status < 0 {
		f.prt("dedupe range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
		f.prterr("do_dedupe_range(1): FIDEDUPERANGE", unix.Errno(-r.Info[0].Status))
		f.reportFailure(161)
	}
}

func (f *fsx) doCopyRange(offset, length, dest uint32) {
	if length == 0 {
		f.skip("skipping zero length copy range")
		f.log5(opCopyRange, offset, length, dest, flSkipped)
		return
	}
	if int64(offset) >= f.fileSize {
		f.skip("skipping copy range behind EOF")
		f.log5(opCopyRange, offset, length, dest, flSkipped)
		return
	}
	if int64(dest+length) > f.biggest {
		f.biggest = int64(dest + length)
		f.skip(fmt.Sprintf("copying to largest ever: 0x%x", dest+length))
	}
	f.log5(opCopyRange, offset, length, dest, 0)
	if int64(dest+length) > f.fileSize {
		f.updateFileSize(dest, length)
	}
	if f.simulating() {
		return
	}
	if f.showDest(dest, length) {
		f.prt("%d copy\tfrom 0x%x to 0x%x, (0x%x bytes) at 0x%x\n", f.testcalls, offset, offset+length, length, dest)
	}
	o1, o2 := int64(offset), int64(dest)
	left := int(length)
	var err error
	for tries := 0; left > 0; {
		var n int
		n, err = unix.CopyFileRange(f.fd, &o1, f.fd, &o2, left, 0)
		if err != nil {
			if err != unix.EAGAIN || tries >= 300 {
				break
			}
			tries++
		} else if n > left {
			f.prt("copy range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
			f.prt("do_copy_range: asked %d, copied %d??\n", left, n)
			f.reportFailure(161)
		} else if n > 0 {
			left -= n
		} else {
			// copy_file_range returned 0 (EOF of the source): the C tool
			// would spin here forever; stop and report it instead.
			err = unix.ENODATA
			break
		}
	}
	if err != nil {
		f.xfszPending(err)
		f.prt("copy range: 0x%x to 0x%x at 0x%x\n", offset, offset+length, dest)
		f.prterr("do_copy_range:", err)
		f.reportFailure(161)
	}
	copy(f.good[dest:dest+length], f.good[offset:offset+length])
}

// doPreallocate is fallocate: a no-op on the data unless it extends the
// file, where it is much like a truncate up.
func (f *fsx) doPreallocate(offset, length uint32, keepSize, unshare bool) {
	fl, mode := 0, uint32(0)
	if keepSize {
		fl |= flKeepSize
		mode |= unix.FALLOC_FL_KEEP_SIZE
	}
	if unshare {
		fl |= flUnshare
		mode |= unix.FALLOC_FL_UNSHARE_RANGE
	}
	if length == 0 {
		f.skip("skipping zero length fallocate")
		f.log4(opFallocate, offset, length, flSkipped|fl)
		return
	}
	var end uint32
	if !keepSize {
		end = offset + length
	}
	if int64(end) > f.biggest {
		f.biggest = int64(end)
		f.skip(fmt.Sprintf("fallocating to largest ever: 0x%x", end))
	}
	f.log4(opFallocate, offset, length, fl)
	if int64(end) > f.fileSize {
		clear(f.good[f.fileSize:end])
		f.updateFileSize(offset, length)
	}
	if f.simulating() {
		return
	}
	if f.showSize(end) {
		f.prt("%d falloc\tfrom 0x%x to 0x%x (0x%x bytes)\n", f.testcalls, offset, offset+length, length)
	}
	if err := unix.Fallocate(f.fd, mode, int64(offset), int64(length)); err != nil {
		f.xfszPending(err)
		f.prt("fallocate: 0x%x to 0x%x\n", offset, offset+length)
		f.prterr("do_preallocate: fallocate", err)
		f.reportFailure(161)
	}
}

// writeFileImage writes the image over the file, where -b's simulated
// operations end.
func (f *fsx) writeFileImage() {
	if _, err := unix.Seek(f.fd, 0, 0); err != nil {
		f.prterr("writefileimage: lseek", err)
		f.reportFailure(171)
	}
	n, err := unix.Write(f.fd, f.good[:f.fileSize])
	if int64(n) != f.fileSize {
		if err != nil {
			f.prterr("writefileimage: write", err)
		} else {
			f.prt("short write: 0x%x bytes instead of 0x%x\n", uint32(n), f.fileSize)
		}
		f.reportFailure(172)
	}
	if !f.cfg.Lite {
		if err := unix.Ftruncate(f.fd, f.fileSize); err != nil {
			f.xfszPending(err)
			f.prt("ftruncate2: %x\n", f.fileSize)
			f.prterr("writefileimage: ftruncate", err)
			f.reportFailure(173)
		}
	}
}

// docloseopen closes the file, drops the page cache (root only, as in the
// C tool) and opens the file again (-c).
func (f *fsx) docloseopen() {
	if f.simulating() {
		return
	}
	if f.debug {
		f.prt("%d close/open\n", f.testcalls)
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		f.prterr("docloseopen: close", err)
		f.reportFailure(180)
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		f.prterr("docloseopen: drop_caches", unwrapErrno(err))
		f.reportFailure(181)
	}
	fd, err := unix.Open(f.fname, unix.O_RDWR|(f.oflags&unix.O_DIRECT), 0)
	if err != nil {
		f.prterr("docloseopen: open", err)
		f.reportFailure(182)
	}
	f.fd = fd
}

// dofsync is integrity mode's fsync: fsync, mark the dm-log-writes log,
// dump the image the mark stands for.
func (f *fsx) dofsync() {
	if f.simulating() {
		return
	}
	if f.debug {
		f.prt("%d fsync\n", f.testcalls)
	}
	f.log4(opFsync, 0, 0, 0)
	if err := unix.Fsync(f.fd); err != nil {
		f.prterr("dofsync", err)
		f.reportFailure(210)
	}
	// The C tool runs "dmsetup message LOGDEV 0 mark NAME" through
	// system(); without the shell, a -i or file name with spaces or
	// shell characters is one argument, not a command.
	mark := fmt.Sprintf("%s.mark%d", f.bname, f.markNr)
	if err := exec.Command("dmsetup", "message", f.cfg.LogDev, "0", "mark", mark).Run(); err != nil {
		f.prterr("dmsetup mark failed", unix.EIO)
		f.die(211)
	}
	name := fmt.Sprintf("%s/%s.mark%d", f.cfg.Dir, f.bname, f.markNr)
	gfd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o666)
	if err != nil {
		f.prterr(name, err)
		f.die(212)
	}
	f.saveBuffer(f.good[:f.fileSize], gfd)
	unix.Close(gfd)
	f.prt("Dumped fsync buffer to %s\n", name[len(f.cfg.Dir)+1:])
	f.markNr++
}

// checkSize compares the image's size with fstat's and lseek's.
func (f *fsx) checkSize() {
	var st unix.Stat_t
	size := int64(-1)
	if err := unix.Fstat(f.fd, &st); err != nil {
		f.prterr("check_size: fstat", err)
	} else {
		size = st.Size
	}
	bySeek, _ := unix.Seek(f.fd, 0, 2)
	if f.fileSize != size || f.fileSize != bySeek {
		f.prt("Size error: expected 0x%x stat 0x%x seek 0x%x\n", uint64(f.fileSize), uint64(size), uint64(bySeek))
		f.reportFailure(120)
	}
}
