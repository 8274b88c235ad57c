package fsx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// How a run ends on a signal, as the C fsx does and as a Go program can.
//
// The C tool's cleanup() handles HUP, INT, PIPE, ALRM, TERM, XCPU, XFSZ,
// VTALRM, USR1 and USR2: it prints "signal N" and "testcalls = N" and
// exits N. Here the signals come through os/signal and are taken between
// operations (keepRunning), except SIGXFSZ, see xfszPending.
//
// SIGBUS has no handler in the C tool: a mapped read or write of a page the
// file system cannot back (a full tmpfs) kills it, and the shell shows
// 135. Go's runtime turns such a fault into a fatal error with a goroutine
// dump; Run instead recovers it (debug.SetPanicOnFault), prints one line
// saying which operation faulted where, and returns ExitSIGBUS, for which
// Exit dies of SIGBUS, as the C tool does.

// caughtSignals are the signals of the C tool's cleanup().
var caughtSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE, syscall.SIGALRM,
	syscall.SIGTERM, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGUSR1, syscall.SIGUSR2}

// ExitSIGBUS is Run's code for a run that a SIGBUS ended: 128+7, the status
// a shell shows for a process killed by SIGBUS. Exit turns it into that
// death.
const ExitSIGBUS = 128 + int(unix.SIGBUS)

// Main is the fsx command: it parses args and runs, and returns the exit
// code for Exit.
func Main(args []string, stdout, stderr io.Writer) int {
	cfg, code := ParseArgs(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	return Run(cfg, stdout, stderr)
}

// Exit ends the process with code, as the C tool would: ExitSIGBUS kills
// the process with SIGBUS (default action), so that a parent's wait status
// says "killed by signal 7", as for the C tool; any other code is
// os.Exit's.
func Exit(code int) {
	if code == ExitSIGBUS {
		dieOfSignal(unix.SIGBUS)
	}
	os.Exit(code)
}

// dieOfSignal kills the process with sig under its default action. It
// returns only if that did not work, and then Exit's os.Exit follows.
func dieOfSignal(sig unix.Signal) {
	runtime.LockOSThread()
	if err := setDefaultAction(sig); err != nil {
		return
	}
	var set unix.Sigset_t
	set.Val[(int(sig)-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
	unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
	time.Sleep(time.Second)
}

// onSignal is the C tool's cleanup(sig).
func (f *fsx) onSignal(s os.Signal) {
	sig := int(s.(syscall.Signal))
	f.prt("signal %d\n", sig)
	f.prt("testcalls = %d\n", f.testcalls)
	f.die(sig)
}

// xfszWait bounds the wait for a SIGXFSZ that an EFBIG says was sent.
// It is waited for once per run: an EFBIG that came without its signal
// (io_uring's workers take none; neither does the C tool's -U) is not
// waited for again.
const xfszWait = time.Second

// xfszPending ends the run as the C tool's handler would when err is the
// EFBIG of a write, truncate or fallocate past ulimit -f. The kernel sends
// SIGXFSZ with that EFBIG, and the C tool's handler runs before the call
// returns, so the C tool prints "signal 25" and exits 25 before it could
// report the failed call. Go's runtime queues the signal for os/signal,
// which delivers it a moment later; so the failed call waits for it here
// before it reports anything. Without a finite RLIMIT_FSIZE no signal comes
// (EFBIG is then the file system's size limit), and the call reports its
// failure at once.
func (f *fsx) xfszPending(err error) {
	if f.sigs == nil || !errors.Is(err, unix.EFBIG) {
		return
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_FSIZE, &lim) != nil || lim.Cur == unix.RLIM_INFINITY {
		return
	}
	wait := xfszWait
	if f.xfszWaited {
		wait = 0
	}
	f.xfszWaited = true
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s := <-f.sigs:
		f.onSignal(s)
	case <-t.C:
	}
}

// liveMap is the mapping of the file that an operation is using, so that
// a fault in it can be reported as that operation's.
type liveMap struct {
	m   []byte
	off int64  // file offset of m[0]
	fn  string // the C function that mapped it ("domapwrite")
}

// addrFault is the runtime.Error of a memory fault under
// debug.SetPanicOnFault: it knows the faulting address.
type addrFault interface {
	error
	Addr() uintptr
}

// mapFault handles what Run recovered: a fault in the live mapping is
// reported in one line and ends the run with ExitSIGBUS; ok is false for
// anything else, which is a bug and panics on.
func (f *fsx) mapFault(r any) (code int, ok bool) {
	e, isFault := r.(addrFault)
	if !isFault || len(f.mapping.m) == 0 {
		return 0, false
	}
	at := e.Addr()
	base := sliceAddr(f.mapping.m)
	if at < base || at >= base+uintptr(len(f.mapping.m)) {
		return 0, false
	}
	off := (f.mapping.off + int64(at-base)) &^ int64(f.pageMask)
	f.prt("%s: bus error (SIGBUS) on the mapped page at file offset 0x%x: the file system could not provide it (out of space?)\n",
		f.mapping.fn, off)
	f.prt("testcalls = %d\n", f.testcalls)
	unix.Munmap(f.mapping.m)
	f.mapping = liveMap{}
	return ExitSIGBUS, true
}

// checkMemory refuses, before allocating them, buffers this machine cannot
// hold: a Go program cannot recover from a failed allocation (the runtime
// ends it with "fatal error: out of memory" and a goroutine dump), and the
// C tool segfaults on its unchecked malloc. The buffers are the C tool's:
// the original data and the image (maxfilelen each), the read buffer
// (maxoplen), and with -X a whole-file read buffer. what names the flag
// the file length came from.
func (f *fsx) checkMemory(what string) {
	c := f.cfg
	n := 2*float64(f.maxFileLen) + float64(c.MaxOpLen) + float64(c.WriteBdy) + float64(c.ReadBdy)
	if c.CheckFile {
		n += float64(f.maxFileLen) + float64(c.WriteBdy)
	}
	avail := availableMemory()
	if avail <= 0 || n <= float64(avail) {
		return
	}
	fmt.Fprintf(f.stderr, "fsx: %s -o %d: the file image and buffers need %.0f bytes of memory, more than the %d available here\n",
		what, c.MaxOpLen, n, avail)
	f.die(exitUsage)
}

// availableMemory is what the kernel says can still be had: MemAvailable
// plus free swap (0: unknown).
func availableMemory() int64 {
	avail, ok := meminfo("MemAvailable")
	if !ok {
		return 0
	}
	swap, _ := meminfo("SwapFree")
	return (avail + swap) << 10
}

// meminfo is the value of a /proc/meminfo line, in kB.
func meminfo(key string) (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			var kb int64
			if _, err := fmt.Sscan(rest, &kb); err == nil {
				return kb, true
			}
		}
	}
	return 0, false
}
