package native

import (
	"fmt"

	"github.com/kaio-go/kaio/internal/linuxaio"
	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

// Status says whether Linux AIO works here and, if not, why.
type Status struct {
	Usable bool
	Reason string
	Err    error
}

// probeSetup is io_setup, replaced by tests to play a kernel that refuses.
var probeSetup = linuxaio.Setup

// Probe creates a small AIO context, checks that IOCB_CMD_POLL (4.18+) is
// there, which kaio needs for polls and for pipes and sockets, and says what
// stopped it.
func Probe() Status {
	ctx, _, err := probeSetup(1)
	if err != nil {
		e := err.(unix.Errno)
		return Status{Reason: explainSetup(e, 1, readFacts()), Err: e}
	}
	defer linuxaio.Destroy(ctx)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return Status{Reason: "eventfd: " + err.Error(), Err: err}
	}
	defer unix.Close(efd)
	k := &linuxaio.Iocb{LioOpcode: linuxaio.CmdPoll, Fildes: uint32(efd), Buf: unix.POLLIN}
	ptr := [1]uintptr{linuxaio.Addr(k)}
	if _, e := linuxaio.Submit(ctx, ptr[:]); e != 0 {
		switch f := readFacts(); {
		case e == unix.EINVAL:
			return Status{Reason: "the kernel lacks IOCB_CMD_POLL (Linux 4.18+)", Err: e}
		case (e == unix.EPERM || e == unix.ENOSYS) && f.status.Filtered():
			return Status{Reason: "io_submit refused by a seccomp filter (" + f.status.SeccompString() + ") that allowed io_setup" + procinfo.ErrnoNote(e), Err: e}
		}
		return Status{Reason: "io_submit failed" + procinfo.ErrnoNote(e), Err: e}
	}
	var ev linuxaio.Event
	linuxaio.Cancel(ctx, k, &ev)
	return Status{Usable: true}
}

// SetupReason says why New(nrEvents) failed with err, naming the limit it
// hit and its current values, for kaio.Setup's error.
func SetupReason(err error, nrEvents int) string {
	e, ok := err.(unix.Errno)
	if !ok {
		return err.Error()
	}
	return explainSetup(e, nrEvents+syncSlots, readFacts())
}

// facts are what explainSetup reads about the process and the kernel.
type facts struct {
	status   procinfo.Status
	aioNr    int64 // fs.aio-nr: events reserved by every context on the machine
	aioMaxNr int64 // fs.aio-max-nr; -1 when the kernel has none (no CONFIG_AIO)
}

// readFacts reads the facts now; tests replace it to play other machines.
var readFacts = func() facts {
	f := facts{status: procinfo.ReadStatus(), aioNr: -1, aioMaxNr: -1}
	if n, ok := procinfo.SysctlInt("fs.aio-nr"); ok {
		f.aioNr = n
	}
	if n, ok := procinfo.SysctlInt("fs.aio-max-nr"); ok {
		f.aioMaxNr = n
	}
	return f
}

// explainSetup says why io_setup(nr) failed with e.
//
// The kernel's io_setup (fs/aio.c, ioctx_alloc) refuses with EAGAIN a
// context whose nr alone exceeds fs.aio-max-nr, and one that would take
// fs.aio-nr, the sum of nr over every context on the machine, past it;
// EINVAL when nr, doubled and rounded up for its per-CPU batches, needs a
// ring over 256 MiB; ENOMEM when the ring's pages cannot be had (they are
// not charged to RLIMIT_MEMLOCK). A seccomp filter runs before all this.
func explainSetup(e unix.Errno, nr int, f facts) string {
	call := fmt.Sprintf("io_setup for %d events", nr)
	if nr == 1 {
		call = "io_setup for 1 event"
	}
	switch e {
	case unix.EAGAIN:
		switch {
		case f.aioMaxNr < 0:
			return call + ": over the system-wide Linux AIO limit (fs.aio-max-nr unreadable)" + procinfo.ErrnoNote(e)
		case int64(nr) > f.aioMaxNr:
			return fmt.Sprintf("%s: more than fs.aio-max-nr (%d) allows for all contexts together", call, f.aioMaxNr) + procinfo.ErrnoNote(e)
		}
		return fmt.Sprintf("%s: the system-wide Linux AIO limit is exhausted: fs.aio-nr %d + %d would exceed fs.aio-max-nr %d", call, f.aioNr, nr, f.aioMaxNr) + procinfo.ErrnoNote(e)
	case unix.ENOSYS:
		switch {
		case f.status.Filtered() && f.aioMaxNr >= 0:
			return call + " answered by a seccomp filter (" + f.status.SeccompString() + "): this kernel has Linux AIO (it has fs.aio-max-nr)" + procinfo.ErrnoNote(e)
		case f.status.Filtered():
			return "the kernel has no Linux AIO (CONFIG_AIO off), or a seccomp filter (" + f.status.SeccompString() + ") answers for it" + procinfo.ErrnoNote(e)
		}
		return "the kernel has no Linux AIO: CONFIG_AIO off" + procinfo.ErrnoNote(e)
	case unix.EPERM:
		if f.status.Filtered() {
			return call + " refused by a seccomp filter (" + f.status.SeccompString() + ")" + procinfo.ErrnoNote(e)
		}
		return call + " not permitted with no seccomp filter (" + f.status.SeccompString() + "): a security module refused it" + procinfo.ErrnoNote(e)
	case unix.EINVAL:
		return call + ": more events than the kernel's ring can hold" + procinfo.ErrnoNote(e)
	case unix.ENOMEM:
		return call + ": out of kernel memory for the ring" + procinfo.ErrnoNote(e)
	}
	return call + " failed" + procinfo.ErrnoNote(e)
}
