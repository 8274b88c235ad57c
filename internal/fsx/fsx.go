//go:build linux

package fsx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/kaio-go/kaio/internal/glibcrand"
	"golang.org/x/sys/unix"
)

// The operations, numbered as the C tool's enum: the op is drawn as
// random() % opMaxFull (opMaxLite with -L, opMaxIntegrity with -i), so the
// numbering is part of the op stream.
const (
	opRead = iota
	opReadDontcache
	opWrite
	opWriteDontcache
	opWriteAtomic
	opMapRead
	opMapWrite
	opMaxLite
)

const (
	opTruncate = opMaxLite + iota
	opFallocate
	opPunchHole
	opZeroRange
	opCollapseRange
	opInsertRange
	opCloneRange
	opDedupeRange
	opCopyRange
	opExchangeRange
	opMaxFull
)

const (
	opFsync = opMaxFull
	opMaxIntegrity
)

var opNames = [...]string{
	opRead:           "read",
	opReadDontcache:  "read_dontcache",
	opWrite:          "write",
	opWriteDontcache: "write_dontcache",
	opWriteAtomic:    "write_atomic",
	opMapRead:        "mapread",
	opMapWrite:       "mapwrite",
	opTruncate:       "truncate",
	opFallocate:      "fallocate",
	opPunchHole:      "punch_hole",
	opZeroRange:      "zero_range",
	opCollapseRange:  "collapse_range",
	opInsertRange:    "insert_range",
	opCloneRange:     "clone_range",
	opDedupeRange:    "dedupe_range",
	opCopyRange:      "copy_range",
	opExchangeRange:  "exchange_range",
	opFsync:          "fsync",
}

func opName(op int) string {
	if op >= 0 && op < len(opNames) {
		return opNames[op]
	}
	return "(null)"
}

func opCode(name string) int {
	for i, n := range opNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Log entry flags, as the C tool's enum opflags.
const (
	flSkipped   = 1
	flCloseOpen = 2
	flKeepSize  = 4
	flUnshare   = 8
)

// logSize is how many operations the log keeps (LOGSIZE).
const logSize = 10000

// entry is one logged operation. Its arguments are C ints: offsets and
// sizes wrap as the C tool's do, and print as its "0x%x" does.
type entry struct {
	op    int
	nargs int
	args  [4]int32
	flags int
}

// exit carries an exit code from deep in an operation up to Run, where the
// C tool would call exit().
type exit struct{ code int }

// fsx is one run's state: the C tool's globals.
type fsx struct {
	cfg            *Config
	stdout, stderr io.Writer
	logf           *bufio.Writer // .fsxlog: a copy of everything prt prints
	logFile        *os.File
	goodFd         int // .fsxgood, written only on failure
	prefix         string

	fd                int
	oflags            int
	fname, bname      string
	goodfile, opsfile string

	original, good, temp, checkBuf []byte
	hugeMaps, hugeBufs             [][]byte // -h: the mappings, and the buffers in them

	rnd        *glibcrand.Rand
	blockSize  int64
	fileSize   int64
	biggest    int64
	testcalls  int64
	simulated  int64
	numops     int64
	maxFileLen uint64
	debug      bool
	deadline   time.Time
	pageSize   int
	pageMask   int

	// Features, on until a flag or a probe turns them off.
	fallocateCalls, keepSizeCalls, unshareCalls, punchHoleCalls   bool
	zeroRangeCalls, collapseCalls, insertCalls, cloneCalls        bool
	dedupeCalls, copyRangeCalls, exchangeCalls, dontcache, atomic bool
	awuMin, awuMax                                                uint32

	oplog     [logSize]entry
	logptr    int
	logcount  int
	badoff    int32
	closeopen bool
	markNr    int

	replay     *bufio.Scanner
	replayF    *os.File
	io         rwPath
	sigs       chan os.Signal
	mapping    liveMap // the file mapping in use, for mapFault
	xfszWaited bool    // xfszPending has waited once
	fmtBuf     []byte
}

// Run runs fsx as configured, printing to stdout and stderr as the C tool
// does, and returns its exit code: 0 when all operations completed A-OK,
// else the C tool's code for what went wrong (110 bad data, 120 size
// mismatch, 141 short read, ...), the signal's number for a signal the C
// tool handles (25 for a write past ulimit -f), or ExitSIGBUS when a mapped
// page could not be had (see Exit).
func Run(cfg *Config, stdout, stderr io.Writer) (code int) {
	f := &fsx{cfg: cfg, stdout: stdout, stderr: stderr, fd: -1, goodFd: -1, badoff: -1}
	// A fault in a mapping of the file (SIGBUS) panics instead of
	// crashing the process, so that mapFault can report it.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(exit); ok {
				code = e.code
			} else if c, ok := f.mapFault(r); ok {
				code = c
			} else {
				f.close()
				panic(r)
			}
		}
		f.close()
	}()
	f.run()
	return 0
}

// die ends the run with code, as the C tool's exit(code).
func (f *fsx) die(code int) { panic(exit{code}) }

func (f *fsx) close() {
	if f.sigs != nil {
		signal.Stop(f.sigs)
	}
	if f.mapping.m != nil {
		unix.Munmap(f.mapping.m)
		f.mapping = liveMap{}
	}
	if f.io != nil {
		f.io.close()
	}
	if f.fd >= 0 {
		unix.Close(f.fd)
	}
	if f.goodFd >= 0 {
		unix.Close(f.goodFd)
	}
	if f.logf != nil {
		f.logf.Flush()
		f.logFile.Close()
	}
	if f.replayF != nil {
		f.replayF.Close()
	}
	for _, m := range f.hugeMaps {
		unix.Munmap(m)
	}
}

// prt prints to stdout (after the -j prefix) and to the .fsxlog.
func (f *fsx) prt(format string, a ...any) {
	f.fmtBuf = fmt.Appendf(f.fmtBuf[:0], format, a...)
	if f.prefix != "" {
		io.WriteString(f.stdout, f.prefix)
	}
	f.stdout.Write(f.fmtBuf)
	if f.logf != nil {
		f.logf.Write(f.fmtBuf)
	}
}

// eprintf prints to stderr, as the C tool's fprintf(stderr, ...).
func (f *fsx) eprintf(format string, a ...any) { fmt.Fprintf(f.stderr, format, a...) }

// prterr is the C tool's prterr: "prefix: strerror(errno)" through prt.
func (f *fsx) prterr(prefix string, err error) {
	f.xfszPending(err)
	f.prt("%s: %s\n", prefix, strerror(err))
}

// warn is the C tool's warn(): "fsx: message: strerror(errno)" on stderr.
func (f *fsx) warn(err error, format string, a ...any) {
	f.xfszPending(err)
	s := f.prefix + "fsx: " + fmt.Sprintf(format, a...) + ": " + strerror(err) + "\n"
	io.WriteString(f.stderr, s)
}

// strerror spells an errno as glibc's strerror does: Go's table has the
// same words with a lower-case first letter.
func strerror(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		s := e.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	if err == nil {
		return "Success"
	}
	return err.Error()
}

func (f *fsx) run() {
	cfg := f.cfg
	f.pageSize = os.Getpagesize()
	f.pageMask = f.pageSize - 1
	if cfg.LogID != "" {
		f.prefix = cfg.LogID + ": "
	}
	for _, s := range cfg.Banner {
		io.WriteString(f.stdout, s)
	}
	f.simulated = cfg.SimulatedOps
	f.numops = cfg.NumOps
	f.maxFileLen = cfg.MaxFileLen
	f.debug = cfg.Debug
	f.fallocateCalls = !cfg.NoFallocate
	f.keepSizeCalls = !cfg.NoKeepSize
	f.unshareCalls = !cfg.NoUnshare
	f.punchHoleCalls = !cfg.NoPunchHole
	f.zeroRangeCalls = !cfg.NoZeroRange
	f.collapseCalls = !cfg.NoCollapse
	f.insertCalls = !cfg.NoInsert
	f.cloneCalls = !cfg.NoClone
	f.dedupeCalls = !cfg.NoDedupe
	f.copyRangeCalls = !cfg.NoCopyRange
	f.exchangeCalls = !cfg.NoExchange
	f.dontcache = !cfg.Direct
	f.atomic = !cfg.NoAtomic
	if cfg.Duration > 0 {
		f.deadline = time.Now().Add(cfg.Duration)
	}

	f.oflags = unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC
	if cfg.KeepFile {
		f.oflags &^= unix.O_TRUNC
	}
	if cfg.Lite {
		f.oflags &^= unix.O_CREAT | unix.O_TRUNC
	}
	if cfg.Direct {
		f.oflags |= unix.O_DIRECT
	}
	f.fname = cfg.File
	f.bname = filepath.Base(cfg.File)
	if f.oflags&unix.O_TRUNC != 0 {
		f.checkMemory(fmt.Sprintf("-l %d", f.maxFileLen))
	}

	// The C tool's signal handler prints and exits at once; here the signal
	// is taken between operations, so the run still ends cleanly.
	f.sigs = make(chan os.Signal, 1)
	signal.Notify(f.sigs, caughtSignals...)

	if !cfg.Quiet && cfg.Seed != 0 {
		f.prt("Seed set to %d\n", cfg.Seed)
	}
	f.rnd = glibcrand.New(uint32(cfg.Seed))
	fd, err := unix.Open(f.fname, f.oflags, 0o666)
	if err != nil {
		f.prterr(f.fname, err)
		f.die(91)
	}
	f.fd = fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.prterr("check_size: fstat", err)
		f.die(91)
	}
	f.blockSize = int64(st.Blksize)
	if cfg.Prealloc {
		// -x: XFS_IOC_RESVSP of maxfilelen. Linux serves that ioctl (as
		// FS_IOC_RESVSP) on every file system as fallocate(KEEP_SIZE),
		// which is what this does.
		if err := unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 0, int64(f.maxFileLen)); err != nil {
			f.prterr(f.fname, err)
			f.die(97)
		}
	}

	var logfile string
	if cfg.Dir != "" {
		dname := cfg.Dir + "/"
		f.goodfile = dname + f.bname + ".fsxgood"
		logfile = dname + f.bname + ".fsxlog"
		f.opsfile = dname + f.bname + ".fsxops"
	} else {
		f.goodfile = f.fname + ".fsxgood"
		logfile = f.fname + ".fsxlog"
		f.opsfile = f.fname + ".fsxops"
	}
	if cfg.RecordOpsFile != "" {
		f.opsfile = cfg.RecordOpsFile
	}
	gfd, err := unix.Open(f.goodfile, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o666)
	if err != nil {
		f.prterr(f.goodfile, err)
		f.die(92)
	}
	f.goodFd = gfd
	lf, err := os.Create(logfile)
	if err != nil {
		f.prterr(logfile, unwrapErrno(err))
		f.die(93)
	}
	f.logFile, f.logf = lf, bufio.NewWriterSize(lf, 64<<10)
	os.Remove(f.opsfile)

	if cfg.ReplayOps != "" {
		rf, err := os.Open(cfg.ReplayOps)
		if err != nil {
			f.prterr(cfg.ReplayOps, unwrapErrno(err))
			f.die(93)
		}
		f.replayF = rf
		f.replay = bufio.NewScanner(rf)
	}

	if cfg.AIO {
		p, err := newKaioPath(cfg.Engine, f.stderr)
		if err != nil {
			fmt.Fprintf(f.stderr, "fsx: -A: kaio engine %s: %v\n", cfg.Engine, err)
			f.die(exitNoEngine)
		}
		p.failing = f.xfszPending
		f.io = p
	} else {
		f.io = plainPath{}
	}

	if f.oflags&unix.O_TRUNC == 0 {
		size, err := unix.Seek(fd, 0, io.SeekEnd)
		if err != nil {
			f.prterr(f.fname, err)
			f.warn(err, "main: lseek eof")
			f.die(94)
		}
		f.fileSize, f.biggest, f.maxFileLen = size, size, uint64(size)
		flag := "-L"
		if cfg.KeepFile {
			flag = "-k"
		}
		if size == 0 && !cfg.Lite {
			// Its size bounds the file's, and truncate draws a size
			// modulo it: the C tool dies of SIGFPE.
			fmt.Fprintf(f.stderr, "fsx: -k: %s is empty, and with -k its size is the upper bound on the file size: want a file of 1 byte or more\n", f.fname)
			f.die(exitUsage)
		}
		f.checkMemory(fmt.Sprintf("%s (%s is %d bytes)", flag, f.fname, size))
		if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
			f.prterr(f.fname, err)
			f.warn(err, "main: lseek 0")
			f.die(95)
		}
	}
	f.initBuffers()
	if cfg.Lite {
		// Zero the whole existing file.
		n, err := unix.Write(fd, f.good[:f.maxFileLen])
		if uint64(n) != f.maxFileLen {
			if err != nil {
				f.prterr(f.fname, err)
				f.warn(err, "main: error on write")
			} else {
				f.warn(nil, "main: short write, 0x%x bytes instead of 0x%x\n", uint32(n), f.maxFileLen)
			}
			f.die(98)
		}
	} else {
		for off, left := int64(0), f.fileSize; left > 0; {
			n, err := unix.Read(fd, f.good[off:off+left])
			if err != nil {
				f.prterr(f.fname, err)
				f.warn(err, "main: error on read")
				f.die(98)
			}
			left -= int64(n)
			off += int64(n)
		}
		f.checkTruncHack()
	}

	f.probe()

	for f.keepRunning() {
		if !f.test() {
			break
		}
		if f.cfg.afterOp != nil {
			f.cfg.afterOp(f.testcalls)
		}
	}

	if err := unix.Close(f.fd); err != nil {
		f.fd = -1
		f.prterr("close", err)
		f.reportFailure(99)
	}
	f.fd = -1
	f.prt("All %d operations completed A-OK!\n", f.testcalls)
	if cfg.RecordOps {
		f.logdump()
	}
}

func unwrapErrno(err error) error {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}

// keepRunning is the C tool's keep_running: the -h re-collapse, the
// --duration deadline, else the -N count. A signal ends the run here.
func (f *fsx) keepRunning() bool {
	select {
	case s := <-f.sigs:
		f.onSignal(s)
	default:
	}
	if f.cfg.HugePages {
		f.collapseHugePages()
	}
	if !f.deadline.IsZero() {
		return !time.Now().After(f.deadline)
	}
	if f.numops == -1 {
		return true
	}
	n := f.numops
	f.numops--
	return n != 0
}

// initBuffers draws the original data (maxfilelen random() values: the
// first draws of the stream) and allocates the image and read buffers,
// aligned to -w and -r as O_DIRECT needs.
func (f *fsx) initBuffers() {
	f.original = make([]byte, f.maxFileLen)
	for i := range f.original {
		f.original[i] = byte(f.rnd.Random() % 256)
	}
	wb, rb := f.cfg.WriteBdy, f.cfg.ReadBdy
	if f.cfg.HugePages {
		f.good = f.hugeBuf(int(f.maxFileLen), wb)
		f.temp = f.hugeBuf(f.cfg.MaxOpLen, rb)
	} else {
		f.good = make([]byte, int(f.maxFileLen)+wb)
		f.temp = make([]byte, f.cfg.MaxOpLen+rb)
	}
	f.good = alignUp(f.good, wb)
	f.temp = alignUp(f.temp, rb)
}

// hugeBuf is init_hugepages_buf: a hugepage-aligned zeroed buffer of len
// rounded up to a hugepage plus alignment, collapsed into hugepages.
func (f *fsx) hugeBuf(n, alignment int) []byte {
	hps := hugePageSize()
	if hps <= 0 {
		f.prterr("get_hugepage_size()", unix.ENOENT)
		f.die(102)
	}
	size := (n+hps-1)/hps*hps + alignment
	m, err := unix.Mmap(-1, 0, size+hps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		f.prterr("posix_memalign for hugebuf", err)
		f.prterr("init_hugepages_buf failed", err)
		f.die(103)
	}
	f.hugeMaps = append(f.hugeMaps, m)
	b := alignUp(m, hps)[:size]
	// Populate it first, as the C tool's memset does: collapse works on
	// present pages.
	for i := 0; i < len(b); i += f.pageSize {
		b[i] = 0
	}
	if err := unix.Madvise(b, unix.MADV_COLLAPSE); err != nil {
		f.prterr("madvise collapse for hugebuf", err)
		f.prterr("init_hugepages_buf failed", err)
		f.die(103)
	}
	f.hugeBufs = append(f.hugeBufs, b)
	return b
}

func hugePageSize() int {
	kb, ok := meminfo("Hugepagesize")
	if !ok {
		return -1
	}
	return int(kb << 10)
}

// collapseHugePages re-collapses the -h buffers every 16k operations
// (counted down in numops, as the C tool does), since reclaim may split
// them.
func (f *fsx) collapseHugePages() {
	if f.numops == 0 || f.numops&(1<<14-1) != 0 {
		return
	}
	for _, b := range f.hugeBufs {
		if err := unix.Madvise(b, unix.MADV_COLLAPSE); err != nil {
			f.prt("collapsing hugepages failed (numops=%d): %s\n", f.numops, strerror(err))
		}
	}
}

func (f *fsx) checkTruncHack() {
	var st unix.Stat_t
	err := unix.Ftruncate(f.fd, f.fileSize)
	if err == nil {
		err = unix.Ftruncate(f.fd, f.fileSize+100000)
	}
	if err == nil {
		unix.Fstat(f.fd, &st)
		if st.Size != f.fileSize+100000 {
			f.prt("no extend on truncate! not posix!\n")
			f.die(130)
		}
		err = unix.Ftruncate(f.fd, f.fileSize)
	}
	if err != nil {
		f.prterr("check_trunc_hack: ftruncate", err)
		f.die(131)
	}
}
