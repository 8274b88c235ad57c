package procinfo

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Capabilities the probes ask about (linux/capability.h).
const (
	CapIPCLock  = 14 // exempts io_uring's rings and buffers from RLIMIT_MEMLOCK
	CapSysAdmin = 21 // may use io_uring under kernel.io_uring_disabled=1
)

// Status is what /proc/self/status says about seccomp and capabilities.
type Status struct {
	Known          bool   // the file was read (false: no /proc, or not Linux-like)
	SeccompMode    int    // "Seccomp:" 0 disabled, 1 strict, 2 filter
	SeccompFilters int    // "Seccomp_filters:" (Linux 5.9+; -1 when absent)
	CapEff         uint64 // "CapEff:", a bit per capability
}

// ReadStatus reads /proc/self/status. The seccomp mode and the capabilities
// are per thread; Go installs neither per thread, and a filter installed
// with SECCOMP_FILTER_FLAG_TSYNC covers them all, so the thread group
// leader's view is the process's.
func ReadStatus() Status {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Status{}
	}
	return ParseStatus(b)
}

// ParseStatus reads the fields of Status from the text of a
// /proc/PID/status file.
func ParseStatus(b []byte) Status {
	s := Status{SeccompFilters: -1}
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val := strings.TrimSpace(string(v))
		switch string(k) {
		case "Seccomp":
			if n, err := strconv.Atoi(val); err == nil {
				s.SeccompMode, s.Known = n, true
			}
		case "Seccomp_filters":
			if n, err := strconv.Atoi(val); err == nil {
				s.SeccompFilters = n
			}
		case "CapEff":
			if n, err := strconv.ParseUint(val, 16, 64); err == nil {
				s.CapEff, s.Known = n, true
			}
		}
	}
	return s
}

// Filtered reports whether a seccomp filter (mode 2) applies to the process.
func (s Status) Filtered() bool { return s.SeccompMode == 2 }

// HasCap reports whether capability c is in the effective set.
func (s Status) HasCap(c int) bool { return s.CapEff&(1<<uint(c)) != 0 }

// SeccompString is the seccomp state as /proc/self/status spells it, for
// messages: "Seccomp: 2, Seccomp_filters: 1".
func (s Status) SeccompString() string {
	if !s.Known {
		return "seccomp state unknown: /proc/self/status unreadable"
	}
	if s.SeccompFilters < 0 {
		return fmt.Sprintf("Seccomp: %d", s.SeccompMode)
	}
	return fmt.Sprintf("Seccomp: %d, Seccomp_filters: %d", s.SeccompMode, s.SeccompFilters)
}

// Sysctl reads a sysctl by its dotted name (kernel.io_uring_disabled) from
// /proc/sys; ok is false when the kernel has no such sysctl or it cannot be
// read.
func Sysctl(name string) (val string, ok bool) {
	b, err := os.ReadFile(SysctlPath(name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// SysctlPath is the /proc/sys file of a dotted sysctl name.
func SysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// SysctlInt is Sysctl as an integer.
func SysctlInt(name string) (int64, bool) {
	v, ok := Sysctl(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// Memlock returns RLIMIT_MEMLOCK, described for a message: "soft 8 MiB,
// hard 8 MiB" or "unlimited".
func Memlock() (soft, hard uint64, desc string) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r); err != nil {
		return 0, 0, "unreadable (" + err.Error() + ")"
	}
	if r.Cur == r.Max {
		return r.Cur, r.Max, Bytes(r.Cur)
	}
	return r.Cur, r.Max, "soft " + Bytes(r.Cur) + ", hard " + Bytes(r.Max)
}

// Bytes formats a limit in bytes with a binary unit ("64 KiB"), or
// "unlimited" for RLIM_INFINITY.
func Bytes(n uint64) string {
	if n == unix.RLIM_INFINITY {
		return "unlimited"
	}
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// InGroup reports whether the process's effective or filesystem group, or
// one of its supplementary groups, is gid: the kernel's in_group_p, which
// kernel.io_uring_group is checked with.
func InGroup(gid int) bool {
	if unix.Getegid() == gid || unix.Getgid() == gid {
		return true
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g == gid {
			return true
		}
	}
	return false
}

// ErrnoNote is " (EPERM)": an errno by its name, as the man pages say it,
// for the end of a message.
func ErrnoNote(e unix.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return " (" + n + ")"
	}
	return " (" + e.Error() + ")"
}
