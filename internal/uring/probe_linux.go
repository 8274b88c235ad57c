package uring

import (
	"os"
	"strings"

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

// disabledPath is the sysctl of Linux 6.6+: 0 all may use io_uring, 1 only
// members of kernel.io_uring_group (and CAP_SYS_ADMIN), 2 nobody.
var disabledPath = "/proc/sys/kernel/io_uring_disabled"

// probeSetup is io_uring_setup, replaced by tests to play a kernel that
// refuses.
var probeSetup = setup

// Probe sets up a small ring, asks the kernel which opcodes it has
// (IORING_REGISTER_PROBE) and enters it once, and says what stopped it.
func Probe() Status {
	sysctl := ""
	if b, err := os.ReadFile(disabledPath); err == nil {
		sysctl = strings.TrimSpace(string(b))
	}
	var p params
	fd, err := probeSetup(4, &p)
	if err != nil {
		e := err.(unix.Errno)
		switch e {
		case unix.ENOSYS:
			return Status{Reason: "the kernel has no io_uring (ENOSYS: before 5.1, or CONFIG_IO_URING off)", Err: e}
		case unix.EPERM:
			switch sysctl {
			case "2":
				return Status{Reason: "io_uring is disabled by the sysctl kernel.io_uring_disabled=2", Err: e}
			case "1":
				return Status{Reason: "io_uring is restricted by kernel.io_uring_disabled=1 and this process is not in kernel.io_uring_group", Err: e}
			}
			return Status{Reason: "io_uring_setup is not permitted (EPERM: a seccomp profile, as Docker's default, or an LSM)", Err: e}
		case unix.ENOMEM:
			return Status{Reason: "io_uring_setup ran out of memory (ENOMEM: RLIMIT_MEMLOCK too small for the rings before 5.12)", Err: e}
		}
		return Status{Reason: "io_uring_setup failed: " + e.Error(), Err: e}
	}
	defer unix.Close(fd)
	var b probeBuf
	if err := registerProbeOps(fd, &b); err != nil {
		return Status{Reason: "IORING_REGISTER_PROBE failed (" + err.Error() + "): a kernel before 5.6, without IORING_OP_READ/WRITE", Err: err}
	}
	for _, n := range neededOps {
		if n.op > b.hdr.lastOp || b.ops[n.op].flags&ioProbeOpSupported == 0 {
			return Status{Reason: "the kernel lacks " + n.name, Err: unix.EOPNOTSUPP}
		}
	}
	if _, e := enter(fd, 0, 0, enterGetEvents, nil); e != 0 {
		return Status{Reason: "io_uring_enter failed (" + e.Error() + "): a seccomp profile that allows setup but not enter?", Err: e}
	}
	return Status{Usable: true}
}
