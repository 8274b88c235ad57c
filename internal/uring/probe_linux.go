package uring

import (
	"fmt"
	"strconv"

	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

// Status says whether io_uring works here and, if not, why.
type Status struct {
	Usable bool
	Reason string
	Err    error // the errno behind Reason, when there is one
}

// neededOps are the opcodes kaio maps its ops to.
var neededOps = [...]struct {
	op   uint8
	name string
}{
	{opNop, "IORING_OP_NOP"}, {opReadv, "IORING_OP_READV"}, {opWritev, "IORING_OP_WRITEV"},
	{opFsync, "IORING_OP_FSYNC"}, {opPollAdd, "IORING_OP_POLL_ADD"},
	{opAsyncCancel, "IORING_OP_ASYNC_CANCEL"}, {opRead, "IORING_OP_READ"}, {opWrite, "IORING_OP_WRITE"},
}

// probeSetup is io_uring_setup, replaced by tests to play a kernel that
// refuses.
var probeSetup = setup

// Probe sets up a small ring, asks the kernel which opcodes it has
// (IORING_REGISTER_PROBE) and enters it once, and says what stopped it.
func Probe() Status {
	var p params
	fd, err := probeSetup(4, &p)
	if err != nil {
		e := err.(unix.Errno)
		return Status{Reason: explainSetup(e, 0, readFacts()), Err: e}
	}
	defer unix.Close(fd)
	var b probeBuf
	if err := registerProbeOps(fd, &b); err != nil {
		e, _ := err.(unix.Errno)
		if f := readFacts(); (e == unix.EPERM || e == unix.ENOSYS) && f.status.Filtered() {
			return Status{Reason: "io_uring_register refused by a seccomp filter (" + f.status.SeccompString() + ") that allowed io_uring_setup" + procinfo.ErrnoNote(e), Err: err}
		}
		return Status{Reason: "IORING_REGISTER_PROBE failed: a kernel before 5.6, without IORING_OP_READ/WRITE" + procinfo.ErrnoNote(e), Err: err}
	}
	for _, n := range neededOps {
		if n.op > b.hdr.lastOp || b.ops[n.op].flags&ioProbeOpSupported == 0 {
			return Status{Reason: "the kernel lacks " + n.name, Err: unix.EOPNOTSUPP}
		}
	}
	if _, e := enter(fd, 0, 0, enterGetEvents, nil); e != 0 {
		if f := readFacts(); f.status.Filtered() {
			return Status{Reason: "io_uring_enter refused by a seccomp filter (" + f.status.SeccompString() + ") that allowed io_uring_setup" + procinfo.ErrnoNote(e), Err: e}
		}
		return Status{Reason: "io_uring_enter failed" + procinfo.ErrnoNote(e), Err: e}
	}
	return Status{Usable: true}
}

// SetupReason says why New(nrEvents) failed with err, naming the limit it
// hit and its current value, for kaio.Setup's error.
func SetupReason(err error, nrEvents int) string {
	e, ok := err.(unix.Errno)
	if !ok {
		return err.Error()
	}
	return explainSetup(e, nrEvents, readFacts())
}

// facts are what explainSetup reads about the process and the kernel.
type facts struct {
	status   procinfo.Status
	disabled string // kernel.io_uring_disabled (Linux 6.6+), "" when the kernel has none
	group    string // kernel.io_uring_group, "" when the kernel has none
	inGroup  bool   // the process is in that group
	memlock  string // RLIMIT_MEMLOCK, described
}

// readFacts reads the facts now; tests replace it to play other machines.
var readFacts = func() facts {
	f := facts{status: procinfo.ReadStatus()}
	f.disabled, _ = procinfo.Sysctl("kernel.io_uring_disabled")
	f.group, _ = procinfo.Sysctl("kernel.io_uring_group")
	if g, err := strconv.Atoi(f.group); err == nil && g >= 0 {
		f.inGroup = procinfo.InGroup(g)
	}
	_, _, f.memlock = procinfo.Memlock()
	return f
}

// explainSetup says why io_uring_setup failed with e. nrEvents is the
// context's size, 0 for the probe's own small ring.
//
// Who refuses with what, in the order the kernel asks: a seccomp filter
// runs before the syscall does (Docker's and containerd's default
// profiles answer EPERM; others ENOSYS); then io_uring_allowed() checks
// kernel.io_uring_disabled (2: nobody; 1: members of kernel.io_uring_group,
// or CAP_SYS_ADMIN; EPERM); then an LSM (EPERM); then the rings are
// allocated, and for a process without CAP_IPC_LOCK charged to
// RLIMIT_MEMLOCK (before Linux 5.12, and again since the rings became
// memory regions: ENOMEM when they do not fit).
func explainSetup(e unix.Errno, nrEvents int, f facts) string {
	call := "io_uring_setup"
	if nrEvents > 0 {
		call = fmt.Sprintf("io_uring_setup (a ring for %d events)", nrEvents)
	}
	filter := ""
	if f.status.Filtered() {
		filter = "; a seccomp filter is installed as well (" + f.status.SeccompString() + ")"
	}
	switch e {
	case unix.EPERM:
		switch {
		case f.disabled == "2":
			return "io_uring is disabled for every process by kernel.io_uring_disabled=2" + filter + procinfo.ErrnoNote(e)
		case f.disabled == "1" && !f.status.HasCap(procinfo.CapSysAdmin) && !f.inGroup:
			if g, err := strconv.Atoi(f.group); err == nil && g >= 0 {
				return fmt.Sprintf("kernel.io_uring_disabled=1 allows io_uring only to members of kernel.io_uring_group (gid %d) and to CAP_SYS_ADMIN; this process is neither", g) + filter + procinfo.ErrnoNote(e)
			}
			return "kernel.io_uring_disabled=1 with kernel.io_uring_group=" + f.group + " (no group) allows io_uring only to CAP_SYS_ADMIN, which this process lacks" + filter + procinfo.ErrnoNote(e)
		case f.status.Filtered():
			return call + " refused by a seccomp filter (" + f.status.SeccompString() + "), as Docker's and containerd's default profiles refuse io_uring" + procinfo.ErrnoNote(e)
		}
		return call + " not permitted with no seccomp filter (" + f.status.SeccompString() + ") and io_uring allowed by sysctl (kernel.io_uring_disabled=" + orNone(f.disabled) + "): a security module (SELinux, AppArmor) refused it" + procinfo.ErrnoNote(e)
	case unix.ENOSYS:
		switch {
		case f.status.Filtered() && f.disabled != "":
			return call + " answered by a seccomp filter (" + f.status.SeccompString() + "): this kernel has io_uring (it has kernel.io_uring_disabled)" + procinfo.ErrnoNote(e)
		case f.status.Filtered():
			return "the kernel has no io_uring (before 5.1, or CONFIG_IO_URING off), or a seccomp filter (" + f.status.SeccompString() + ") answers for it" + procinfo.ErrnoNote(e)
		}
		return "the kernel has no io_uring: before 5.1, or CONFIG_IO_URING off" + procinfo.ErrnoNote(e)
	case unix.ENOMEM:
		if !f.status.HasCap(procinfo.CapIPCLock) {
			return call + ": the rings do not fit under RLIMIT_MEMLOCK (" + f.memlock + "), which they are charged to in a process without CAP_IPC_LOCK" + procinfo.ErrnoNote(e)
		}
		return call + ": out of kernel memory (RLIMIT_MEMLOCK, " + f.memlock + ", does not apply: the process has CAP_IPC_LOCK)" + procinfo.ErrnoNote(e)
	}
	return call + " failed" + procinfo.ErrnoNote(e)
}

func orNone(s string) string {
	if s == "" {
		return "none, before Linux 6.6"
	}
	return s
}
