package dockerseccomp

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	seccompbpf "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// EnvPolicy names the environment variable that makes a process importing
// this package install a policy when the package is initialised: "docker"
// (DockerPolicy) or "errno:NAME=ERRNO,..." (ErrnoPolicy).
const EnvPolicy = "KAIO_SECCOMP_POLICY"

// active is the policy init installed from EnvPolicy, "" for none.
var active string

func init() {
	name := os.Getenv(EnvPolicy)
	if name == "" {
		return
	}
	if err := InstallNamed(name); err != nil {
		fmt.Fprintf(os.Stderr, "dockerseccomp: $%s=%s: %v\n", EnvPolicy, name, err)
		os.Exit(2)
	}
	active = name
}

// Active is the policy this process installed from $KAIO_SECCOMP_POLICY
// when it started, "" for none: a test that finds it set is the child
// RunTests started.
func Active() string { return active }

// Supported says whether this kernel can install seccomp filters, and if
// not why, for a test to skip with.
func Supported() (bool, string) {
	if !seccompbpf.Supported() {
		return false, "the kernel does not support seccomp filters (CONFIG_SECCOMP_FILTER off?)"
	}
	if _, err := arch.GetInfo(""); err != nil {
		return false, fmt.Sprintf("go-seccomp-bpf has no syscall table for %s (%v)", runtime.GOARCH, err)
	}
	return true, ""
}

// Named returns the policy a name stands for: "docker" is DockerPolicy,
// "errno:NAME=ERRNO,..." is ErrnoPolicy.
func Named(name string) (*seccompbpf.Policy, error) {
	if name == "docker" {
		p, _, err := DockerPolicy()
		return p, err
	}
	if list, ok := strings.CutPrefix(name, "errno:"); ok {
		deny := map[string]unix.Errno{}
		for _, kv := range strings.Split(list, ",") {
			sys, errno, ok := strings.Cut(kv, "=")
			e := errnoByName(errno)
			if !ok || e == 0 {
				return nil, fmt.Errorf("bad rule %q in %q: want SYSCALL=ERRNO, such as io_setup=ENOSYS", kv, name)
			}
			deny[sys] = e
		}
		return ErrnoPolicy(deny)
	}
	return nil, fmt.Errorf("unknown policy %q: want \"docker\" or \"errno:SYSCALL=ERRNO[,SYSCALL=ERRNO]\"", name)
}

// ErrnoPolicy allows every syscall but those in deny, which fail with
// their errno: a kernel without io_uring (ENOSYS), or a filter that
// refuses only Linux AIO, played for real.
func ErrnoPolicy(deny map[string]unix.Errno) (*seccompbpf.Policy, error) {
	byErrno := map[unix.Errno][]string{}
	for sys, e := range deny {
		byErrno[e] = append(byErrno[e], sys)
	}
	p := &seccompbpf.Policy{DefaultAction: seccompbpf.ActionAllow}
	for e, names := range byErrno {
		p.Syscalls = append(p.Syscalls, seccompbpf.SyscallGroup{
			Action: seccompbpf.ActionErrno | seccompbpf.Action(e), Names: names,
		})
	}
	if _, err := p.Assemble(); err != nil {
		return nil, err
	}
	return p, nil
}

func errnoByName(name string) unix.Errno {
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e
		}
	}
	return 0
}

// InstallNamed installs the policy Named(name) returns.
func InstallNamed(name string) error {
	p, err := Named(name)
	if err != nil {
		return err
	}
	return Install(p)
}

// Install loads p into this process for good: no_new_privs first (an
// unprivileged process may then install a filter, and execve cannot gain
// privileges past it), and SECCOMP_FILTER_FLAG_TSYNC so that every thread
// the Go runtime has started gets the filter, not only the calling one.
// Threads started later, and programs this process execs, inherit it.
func Install(p *seccompbpf.Policy) error {
	// no_new_privs and the filter are set on the calling thread before
	// TSYNC copies both to the others: it must be one thread throughout.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return seccompbpf.LoadFilter(seccompbpf.Filter{NoNewPrivs: true, Flag: seccompbpf.FilterFlagTSync, Policy: *p})
}
