//go:build linux

package fsx

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// log4 records an operation with two arguments and the file size.
func (f *fsx) log4(op int, a0, a1 uint32, flags int) {
	f.logOp(op, 3, [4]int32{int32(a0), int32(a1), int32(f.fileSize)}, flags)
}

// log5 records an operation with three arguments and the file size.
func (f *fsx) log5(op int, a0, a1, a2 uint32, flags int) {
	f.logOp(op, 4, [4]int32{int32(a0), int32(a1), int32(a2), int32(f.fileSize)}, flags)
}

func (f *fsx) logOp(op, nargs int, args [4]int32, flags int) {
	if f.closeopen {
		flags |= flCloseOpen
	}
	f.oplog[f.logptr] = entry{op: op, nargs: nargs, args: args, flags: flags}
	f.logptr++
	f.logcount++
	if f.logptr >= logSize {
		f.logptr = 0
	}
}

// logdump prints the last operations and writes them to the .fsxops file,
// in the C tool's formats (the overlap marks are computed with its C int
// arithmetic, against the bad offset).
func (f *fsx) logdump() {
	f.prt("LOG DUMP (%d total operations):\n", f.logcount)
	ops, err := os.Create(f.opsfile)
	var w *bufio.Writer
	if err != nil {
		f.prterr(f.opsfile, unwrapErrno(err))
	} else {
		w = bufio.NewWriter(ops)
	}
	i, count := 0, f.logcount
	if f.logcount >= logSize {
		i, count = f.logptr, logSize
	}
	bad := f.badoff
	for ; count > 0; count-- {
		// The C tool's numbering: once the log has wrapped, the first
		// number printed is logcount+1 (a quirk kept for comparable dumps).
		opnum := i + 1 + (f.logcount/logSize)*logSize
		f.prt("%d(%3d mod 256): ", opnum, opnum%256)
		lp := &f.oplog[i]
		a := lp.args
		overlap := bad >= a[0] && bad < a[0]+a[1]
		if lp.flags&flSkipped != 0 {
			f.prt("SKIPPED (no operation)")
		} else {
			switch lp.op {
			case opMapRead:
				f.prt("MAPREAD  0x%x thru 0x%x\t(0x%x bytes)", u(a[0]), u(a[0]+a[1]-1), u(a[1]))
				if overlap {
					f.prt("\t***RRRR***")
				}
			case opMapWrite:
				f.prt("MAPWRITE 0x%x thru 0x%x\t(0x%x bytes)", u(a[0]), u(a[0]+a[1]-1), u(a[1]))
				if overlap {
					f.prt("\t******WWWW")
				}
			case opRead, opReadDontcache:
				f.prt("READ     0x%x thru 0x%x\t(0x%x bytes)", u(a[0]), u(a[0]+a[1]-1), u(a[1]))
				if overlap {
					f.prt("\t***RRRR***")
				}
			case opWrite, opWriteDontcache, opWriteAtomic:
				f.prt("WRITE    0x%x thru 0x%x\t(0x%x bytes)", u(a[0]), u(a[0]+a[1]-1), u(a[1]))
				if a[0] > a[2] {
					f.prt(" HOLE")
				} else if a[0]+a[1] > a[2] {
					f.prt(" EXTEND")
				}
				overlap = (bad >= a[0] || bad >= a[2]) && bad < a[0]+a[1]
				if overlap {
					f.prt("\t***WWWW")
				}
			case opTruncate:
				down := a[1] < a[2]
				dir, lo, hi := "UP", a[2], a[1]
				if down {
					dir, lo, hi = "DOWN", a[1], a[2]
				}
				f.prt("TRUNCATE %s\tfrom 0x%x to 0x%x", dir, u(a[2]), u(a[1]))
				overlap = bad >= lo && bad < hi
				if overlap {
					f.prt("\t******WWWW")
				}
			case opFallocate:
				f.prt("FALLOC   0x%x thru 0x%x\t(0x%x bytes) ", u(a[0]), u(a[0]+a[1]), u(a[1]))
				switch {
				case a[0]+a[1] <= a[2]:
					f.prt("INTERIOR")
				case lp.flags&flKeepSize != 0:
					f.prt("PAST_EOF")
				default:
					f.prt("EXTENDING")
				}
				if overlap {
					f.prt("\t******FFFF")
				}
			case opPunchHole:
				f.rangeLine("PUNCH    ", a, overlap, "\t******PPPP")
			case opZeroRange:
				f.rangeLine("ZERO     ", a, overlap, "\t******ZZZZ")
			case opCollapseRange:
				f.rangeLine("COLLAPSE ", a, overlap, "\t******CCCC")
			case opInsertRange:
				f.rangeLine("INSERT ", a, overlap, "\t******IIII")
			case opExchangeRange:
				f.twoRangeLine("XCHG", a, overlap, 'X')
			case opCloneRange:
				f.twoRangeLine("CLONE", a, overlap, 'J')
			case opDedupeRange:
				f.twoRangeLine("DEDUPE", a, overlap, 'B')
			case opCopyRange:
				f.twoRangeLine("COPY", a, overlap, 'E')
			case opFsync:
				f.prt("FSYNC")
			default:
				// The C tool "continue"s here without advancing i; a log
				// entry it wrote itself is never bogus, so neither is ours.
				f.prt("BOGUS LOG ENTRY (operation code = %d)!", lp.op)
			}
		}
		if lp.flags&flCloseOpen != 0 {
			f.prt("\n\t\tCLOSE/OPEN")
		}
		f.prt("\n")
		i++
		if i == logSize {
			i = 0
		}
		if w != nil {
			if lp.flags&flSkipped != 0 {
				w.WriteString("skip ")
			}
			w.WriteString(opName(lp.op))
			for j := 0; j < lp.nargs; j++ {
				fmt.Fprintf(w, " 0x%x", u(a[j]))
			}
			if lp.flags&flKeepSize != 0 {
				w.WriteString(" keep_size")
			}
			if lp.flags&flCloseOpen != 0 {
				w.WriteString(" close_open")
			}
			if lp.flags&flUnshare != 0 {
				w.WriteString(" unshare")
			}
			if overlap {
				w.WriteString(" *")
			}
			w.WriteString("\n")
		}
	}
	if w != nil {
		err := w.Flush()
		if cerr := ops.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			f.prterr(f.opsfile, unwrapErrno(err))
		} else {
			f.prt("Log of operations saved to \"%s\"; replay with --replay-ops\n", f.opsfile)
		}
	}
}

// u is a C int printed with "%x": its unsigned bits.
func u(v int32) uint32 { return uint32(v) }

func (f *fsx) rangeLine(name string, a [4]int32, overlap bool, mark string) {
	f.prt("%s0x%x thru 0x%x\t(0x%x bytes)", name, u(a[0]), u(a[0]+a[1]-1), u(a[1]))
	if overlap {
		f.prt("%s", mark)
	}
}

func (f *fsx) twoRangeLine(name string, a [4]int32, overlap bool, m byte) {
	f.prt("%s 0x%x thru 0x%x\t(0x%x bytes) to 0x%x thru 0x%x", name,
		u(a[0]), u(a[0]+a[1]-1), u(a[1]), u(a[2]), u(a[2]+a[1]-1))
	overlap2 := f.badoff >= a[2] && f.badoff < a[2]+a[1]
	mm := strings.Repeat(string(m), 4)
	switch {
	case overlap && overlap2:
		f.prt("\t%s**%s", mm, mm)
	case overlap:
		f.prt("\t%s******", mm)
	case overlap2:
		f.prt("\t******%s", mm)
	}
}

// saveBuffer writes the expected image to the .fsxgood file.
func (f *fsx) saveBuffer(buf []byte, fd int) {
	if fd <= 0 || len(buf) == 0 {
		return
	}
	if f.cfg.Lite {
		size, err := unix.Seek(fd, 0, 2)
		if err != nil {
			f.prterr("save_buffer: lseek eof", err)
		} else if int64(len(buf)) > size {
			f.warn(nil, "save_buffer: .fsxgood file too short... will save 0x%x bytes instead of 0x%x\n", size, len(buf))
			buf = buf[:size]
		}
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		f.prterr("save_buffer: lseek 0", err)
	}
	n, err := unix.Write(fd, buf)
	if n != len(buf) {
		if err != nil {
			f.prterr("save_buffer write", err)
		} else {
			f.warn(nil, "save_buffer: short write, 0x%x bytes instead of 0x%x\n", uint32(n), len(buf))
		}
	}
}

// reportFailure dumps the log, saves the expected image, says how to run
// the same operations again, and ends the run with status.
func (f *fsx) reportFailure(status int) {
	f.logdump()
	if f.goodFd >= 0 && f.good != nil {
		f.saveBuffer(f.good[:f.fileSize], f.goodFd)
		f.prt("Correct content saved for comparison\n")
		f.prt("(maybe hexdump \"%s\" vs \"%s\")\n", f.fname, f.goodfile)
	}
	f.prt("Seed %d; rerun the same operations with: %s\n", f.cfg.Seed, f.rerunCommand())
	f.die(status)
}

// rerunCommand is the command line of this run with the seed made
// explicit (it may have come from -S 0): the last -S's value becomes the
// seed, or "-S seed" goes in front when there was none.
func (f *fsx) rerunCommand() string {
	args := append([]string(nil), f.cfg.Args...)
	seed := strconv.Itoa(f.cfg.Seed)
	last := -1
	opts, _, err := getopt(args, shortOpts, longOpts)
	if err == nil {
		for i, o := range opts {
			if o.code == 'S' {
				last = i
			}
		}
	}
	if last >= 0 {
		o := opts[last]
		args[o.argIdx] = args[o.argIdx][:o.argOff] + seed
	} else {
		args = append([]string{"-S", seed}, args...)
	}
	var b strings.Builder
	b.WriteString("fsx")
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shortAt is the C tool's short_at: two bytes, big-endian, as an unsigned
// short (0 past the buffer's end, where C would read its allocation slack).
func shortAt(b []byte, i int) uint16 {
	return uint16(at(b, i))<<8 | uint16(at(b, i+1))
}

func at(b []byte, i int) byte {
	if i >= 0 && i < len(b) {
		return b[i]
	}
	return 0
}

// checkBuffers compares what was read (buf[:size]) with the image at
// offset, and on a difference prints the C tool's table of up to 16 bad
// offsets and fails with 110.
func (f *fsx) checkBuffers(buf []byte, offset, size uint32) {
	if string(f.good[offset:offset+size]) == string(buf[:size]) {
		return
	}
	f.prt("READ BAD DATA: offset = 0x%x, size = 0x%x, fname = %s\n", offset, size, f.fname)
	f.prt("%-10s  %-6s  %-6s  %s\n", "OFFSET", "GOOD", "BAD", "RANGE")
	var i, n uint32
	for ; size > 0; size-- {
		c, t := f.good[offset], buf[i]
		if c != t {
			if n < 16 {
				bad := shortAt(buf, int(i))
				f.prt("0x%-8x  0x%04x  0x%04x  0x%x\n", offset, shortAt(f.good, int(offset)), bad, n)
				j := int(i)
				if offset&1 != 0 {
					j++
				}
				// C reads a (signed) char into an unsigned: only its
				// zero-ness and low byte matter.
				if op := at(buf, j); op != 0 {
					f.prt("operation# (mod 256) for the bad data may be %d\n", op)
				} else {
					f.prt("operation# (mod 256) for the bad data unknown, check HOLE and EXTEND ops\n")
				}
			}
			n++
			f.badoff = int32(offset)
		}
		offset++
		i++
	}
	f.reportFailure(110)
}

// readOp reads the next operation of a --replay-ops file into e; false at
// its end. A line it cannot parse ends the run with 100.
func (f *fsx) readOp(e *entry) bool {
	*e = entry{op: -1}
	for e.op == -1 {
		var fields []string
		for {
			if !f.replay.Scan() {
				if err := f.replay.Err(); err != nil {
					f.replayFail()
				}
				f.replay = nil
				return false
			}
			fields = strings.FieldsFunc(f.replay.Text(), func(r rune) bool { return r == ' ' || r == '\t' })
			if len(fields) > 0 && fields[0][0] != '#' {
				break
			}
		}
		if fields[0] == "skip" {
			e.flags |= flSkipped
			fields = fields[1:]
			if len(fields) == 0 {
				f.replayFail()
			}
		}
		e.op = opCode(fields[0])
		if e.op == -1 {
			f.replayFail()
		}
		e.nargs = opArgsCount(e.op)
		fields = fields[1:]
		for i := 0; i < e.nargs; i++ {
			if len(fields) == 0 {
				f.replayFail()
			}
			v, err := strconv.ParseUint(fields[0], 0, 64)
			if err != nil && !isRangeErr(err) {
				f.replayFail()
			}
			e.args[i] = int32(v)
			fields = fields[1:]
		}
		for _, s := range fields {
			switch s {
			case "keep_size":
				e.flags |= flKeepSize
			case "close_open":
				e.flags |= flCloseOpen
			case "unshare":
				e.flags |= flUnshare
			case "*": // overlap marker
			default:
				f.replayFail()
			}
		}
	}
	return true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (f *fsx) replayFail() {
	fmt.Fprintf(f.stderr, "%s: parse error\n", f.cfg.ReplayOps)
	f.replay = nil
	f.prt("testcalls = %d\n", f.testcalls)
	f.die(100)
}

func opArgsCount(op int) int {
	switch op {
	case opExchangeRange, opCloneRange, opDedupeRange, opCopyRange:
		return 4
	}
	return 3
}
