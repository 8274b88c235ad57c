//go:build linux

package fsx

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The C tool's TRIM_OFF and TRIM_LEN, with its types: offsets and sizes are
// unsigned longs, the bound an off_t converted to unsigned long (so a bound
// of file_size-1 on an empty file is ULONG_MAX, and trims nothing).
func trimOff(off *uint64, size int64) {
	if size != 0 {
		*off %= uint64(size)
	} else {
		*off = 0
	}
}

func trimLen(off uint64, n *uint64, size int64) {
	if off+*n > uint64(size) {
		*n = uint64(size) - off
	}
}

func trimOffLen(off, n *uint64, size int64) {
	trimOff(off, size)
	trimLen(*off, n, size)
}

func rounddown(x uint64, y int64) uint64 {
	return x / uint64(uint32(y)) * uint64(uint32(y))
}

// generateDestRange picks the destination of clone, dedupe, copy and
// exchange: up to 30 random() draws for a destination that does not
// overlap the source and fits under maxEnd; if none does, the size becomes
// 0. It draws even when the operation is disabled, so it is part of the op
// stream.
func (f *fsx) generateDestRange(bdyAlign bool, maxEnd int64, src, size, dst *uint64) {
	trimOffLen(src, size, f.fileSize)
	if bdyAlign {
		*src = rounddown(*src, int64(f.cfg.ReadBdy))
		if f.cfg.Direct {
			*size = rounddown(*size, int64(f.cfg.ReadBdy))
		}
	} else {
		*src = rounddown(*src, f.blockSize)
		*size = rounddown(*size, f.blockSize)
	}
	for tries := 0; ; {
		if tries >= 30 {
			*size = 0
			break
		}
		tries++
		*dst = uint64(f.rnd.Random())
		trimOff(dst, maxEnd)
		if bdyAlign {
			*dst = rounddown(*dst, int64(f.cfg.WriteBdy))
		} else {
			*dst = rounddown(*dst, f.blockSize)
		}
		d := int64(*dst - *src)
		if d < 0 {
			d = -d
		}
		overlaps := uint64(d) < *size
		if !overlaps && *dst+*size <= uint64(maxEnd) {
			break
		}
	}
}

// test runs one operation: drawn from the random stream (or read from the
// replay file), logged, done on the file and the image, checked. It returns
// false when a replay file has run out.
func (f *fsx) test() bool {
	c := f.cfg
	if f.simulated > 0 && f.testcalls == f.simulated {
		f.writeFileImage()
	}
	f.testcalls++
	if c.DebugStart > 0 && f.testcalls >= c.DebugStart {
		f.debug = true
	}
	if !c.Quiet && f.testcalls < f.simulated && f.testcalls%100000 == 0 {
		f.prt("%d...\n", f.testcalls)
	}

	var offset, offset2, size uint64
	var op int
	keepSize, unshare := false, false

	if f.replay != nil {
		var e entry
		found := false
		for f.readOp(&e) {
			if e.flags&flSkipped != 0 {
				f.log4(e.op, uint32(e.args[0]), uint32(e.args[1]), e.flags)
				continue
			}
			op = e.op
			offset = uint64(uint32(e.args[0]))
			size = uint64(uint32(e.args[1]))
			offset2 = uint64(uint32(e.args[2]))
			f.closeopen = e.flags&flCloseOpen != 0
			keepSize = e.flags&flKeepSize != 0
			unshare = e.flags&flUnshare != 0
			found = true
			break
		}
		if !found {
			return false
		}
	} else {
		rv := uint64(f.rnd.Random())
		if c.CloseProb != 0 {
			f.closeopen = rv>>3 < uint64((1<<28)/c.CloseProb)
		}
		offset = uint64(f.rnd.Random())
		size = uint64(c.MaxOpLen)
		if !c.FixedOpLen {
			size = uint64(f.rnd.Random()) % uint64(c.MaxOpLen+1)
		}
		switch {
		case c.Lite:
			op = int(rv % opMaxLite)
		case c.LogDev == "":
			op = int(rv % opMaxFull)
		default:
			op = int(rv % opMaxIntegrity)
		}
		switch op {
		case opTruncate:
			if c.Style == 0 {
				size = uint64(f.rnd.Random()) % f.maxFileLen
			}
		case opFallocate:
			if f.fallocateCalls && size != 0 {
				if f.keepSizeCalls {
					keepSize = f.rnd.Random()%2 != 0
				}
				if f.unshareCalls {
					unshare = f.rnd.Random()%2 != 0
				}
			}
		case opZeroRange:
			if f.zeroRangeCalls && size != 0 && f.keepSizeCalls {
				keepSize = f.rnd.Random()%2 != 0
			}
		case opCloneRange:
			f.generateDestRange(false, int64(f.maxFileLen), &offset, &size, &offset2)
		case opDedupeRange:
			f.generateDestRange(false, f.fileSize, &offset, &size, &offset2)
		case opCopyRange:
			f.generateDestRange(true, int64(f.maxFileLen), &offset, &size, &offset2)
		case opExchangeRange:
			f.generateDestRange(false, f.fileSize, &offset, &size, &offset2)
		}
	}

	if f.dispatch(op, offset, size, offset2, keepSize, unshare) {
		if c.CheckFile && !f.simulating() {
			f.checkContents()
		}
	}
	if f.closeopen {
		f.docloseopen()
	}
	if !c.NoSizeChecks && !f.simulating() {
		f.checkSize()
	}
	return true
}

// dispatch does op; false when the op was skipped before being done (the
// C tool's "goto out", which also skips -X's check).
func (f *fsx) dispatch(op int, offset, size, offset2 uint64, keepSize, unshare bool) bool {
	o, s, d := uint32(offset), uint32(size), uint32(offset2)
	skipped := func(log5 bool) bool {
		if log5 {
			f.log5(op, o, s, d, flSkipped)
		} else {
			f.log4(op, o, s, flSkipped)
		}
		return false
	}
	switch op {
	case opMapRead:
		if f.cfg.NoMapReads {
			op = opRead
		}
	case opMapWrite:
		if f.cfg.NoMapWrites {
			op = opWrite
		}
	case opFallocate:
		if !f.fallocateCalls {
			return skipped(false)
		}
	case opPunchHole:
		if !f.punchHoleCalls {
			return skipped(false)
		}
	case opZeroRange:
		if !f.zeroRangeCalls {
			return skipped(false)
		}
	case opCollapseRange:
		if !f.collapseCalls {
			return skipped(false)
		}
	case opInsertRange:
		if !f.insertCalls {
			return skipped(false)
		}
	case opExchangeRange:
		if !f.exchangeCalls {
			return skipped(true)
		}
	case opCloneRange:
		if !f.cloneCalls {
			return skipped(true)
		}
	case opDedupeRange:
		if !f.dedupeCalls {
			return skipped(true)
		}
	case opCopyRange:
		if !f.copyRangeCalls {
			return skipped(true)
		}
	case opWriteAtomic:
		if !f.atomic {
			return skipped(false)
		}
	}

	maxLen := int64(f.maxFileLen)
	switch op {
	case opRead:
		trimOffLen(&offset, &size, f.fileSize)
		f.doRead(uint32(offset), uint32(size), 0)
	case opReadDontcache:
		trimOffLen(&offset, &size, f.fileSize)
		f.doRead(uint32(offset), uint32(size), f.dontcacheFlag())
	case opWrite:
		trimOffLen(&offset, &size, maxLen)
		f.doWrite(uint32(offset), uint32(size), 0)
	case opWriteDontcache:
		trimOffLen(&offset, &size, maxLen)
		f.doWrite(uint32(offset), uint32(size), f.dontcacheFlag())
	case opWriteAtomic:
		trimOffLen(&offset, &size, maxLen)
		f.doWrite(uint32(offset), uint32(size), unix.RWF_ATOMIC)
	case opMapRead:
		trimOffLen(&offset, &size, f.fileSize)
		f.doMapRead(uint32(offset), uint32(size))
	case opMapWrite:
		trimOffLen(&offset, &size, maxLen)
		f.doMapWrite(uint32(offset), uint32(size))
	case opTruncate:
		if size > uint64(maxLen) {
			// Only a replay file (or Style 1 with -o over -l) asks for
			// this; the image cannot hold it, and the C tool writes past
			// its buffer.
			fmt.Fprintf(f.stderr, "fsx: operation %d: truncate to 0x%x is past the maximum file length 0x%x (-l)\n", f.testcalls, size, maxLen)
			f.prt("testcalls = %d\n", f.testcalls)
			f.die(100)
		}
		f.doTruncate(uint32(size))
	case opFallocate:
		trimOffLen(&offset, &size, maxLen)
		f.doPreallocate(uint32(offset), uint32(size), keepSize, unshare)
	case opPunchHole:
		trimOffLen(&offset, &size, f.fileSize)
		f.doPunchHole(uint32(offset), uint32(size))
	case opZeroRange:
		trimOffLen(&offset, &size, maxLen)
		f.doZeroRange(uint32(offset), uint32(size), keepSize)
	case opCollapseRange:
		trimOffLen(&offset, &size, f.fileSize-1)
		offset = rounddown(offset, f.blockSize)
		size = rounddown(size, f.blockSize)
		if size == 0 {
			f.log4(opCollapseRange, uint32(offset), uint32(size), flSkipped)
			return false
		}
		f.doCollapseRange(uint32(offset), uint32(size))
	case opInsertRange:
		trimOff(&offset, f.fileSize)
		trimLen(uint64(f.fileSize), &size, maxLen)
		offset = rounddown(offset, f.blockSize)
		size = rounddown(size, f.blockSize)
		if size == 0 || uint64(f.fileSize)+size > f.maxFileLen {
			f.log4(opInsertRange, uint32(offset), uint32(size), flSkipped)
			return false
		}
		f.doInsertRange(uint32(offset), uint32(size))
	case opExchangeRange, opCloneRange, opDedupeRange, opCopyRange:
		if size == 0 || offset2+size > f.maxFileLen {
			f.log5(op, uint32(offset), uint32(size), uint32(offset2), flSkipped)
			return false
		}
		switch op {
		case opExchangeRange:
			f.doExchangeRange(uint32(offset), uint32(size), uint32(offset2))
		case opCloneRange:
			f.doCloneRange(uint32(offset), uint32(size), uint32(offset2))
		case opDedupeRange:
			f.doDedupeRange(uint32(offset), uint32(size), uint32(offset2))
		default:
			f.doCopyRange(uint32(offset), uint32(size), uint32(offset2))
		}
	case opFsync:
		f.dofsync()
	default:
		f.prterr("test: unknown operation", unix.EINVAL)
		f.reportFailure(42)
	}
	return true
}

func (f *fsx) dontcacheFlag() int {
	if f.dontcache {
		return unix.RWF_DONTCACHE
	}
	return 0
}
