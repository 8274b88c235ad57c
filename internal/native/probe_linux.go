package native

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Status says whether Linux AIO works here and, if not, why.
type Status struct {
	Usable bool
	Reason string
	Err    error
}

// probeSetup is io_setup, replaced by tests to play a kernel that refuses.
var probeSetup = ioSetup

// Probe creates a small AIO context, checks that IOCB_CMD_POLL (4.18+) is
// there, which kaio needs for polls and for pipes and sockets, and says what
// stopped it.
func Probe() Status {
	ctx, _, err := probeSetup(1)
	if err != nil {
		e := err.(unix.Errno)
		switch e {
		case unix.ENOSYS:
			return Status{Reason: "the kernel has no Linux AIO (ENOSYS: CONFIG_AIO off)", Err: e}
		case unix.EPERM:
			return Status{Reason: "io_setup is not permitted (EPERM: a seccomp profile or an LSM)", Err: e}
		case unix.EAGAIN:
			return Status{Reason: "io_setup: the system-wide AIO limit is exhausted (EAGAIN: fs.aio-nr " + sysctl("aio-nr") + " of fs.aio-max-nr " + sysctl("aio-max-nr") + ")", Err: e}
		case unix.ENOMEM:
			return Status{Reason: "io_setup ran out of memory (ENOMEM)", Err: e}
		}
		return Status{Reason: "io_setup failed: " + e.Error(), Err: e}
	}
	defer ioDestroy(ctx)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return Status{Reason: "eventfd: " + err.Error(), Err: err}
	}
	defer unix.Close(efd)
	k := &kiocb{aioLioOpcode: cmdPoll, aioFildes: uint32(efd), aioBuf: unix.POLLIN}
	ptr := [1]uintptr{kiocbAddr(k)}
	if _, e := ioSubmit(ctx, ptr[:]); e != 0 {
		if e == unix.EINVAL {
			return Status{Reason: "the kernel lacks IOCB_CMD_POLL (Linux 4.18+)", Err: e}
		}
		return Status{Reason: "io_submit failed: " + e.Error(), Err: e}
	}
	var ev ioEvent
	ioCancel(ctx, k, &ev)
	return Status{Usable: true}
}

// sysctlDir is where fs.aio-nr and fs.aio-max-nr are read (tests move it).
var sysctlDir = "/proc/sys/fs/"

func sysctl(name string) string {
	b, err := os.ReadFile(sysctlDir + name)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
