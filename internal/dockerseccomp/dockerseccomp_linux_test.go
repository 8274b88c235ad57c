package dockerseccomp

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	seccompbpf "github.com/elastic/go-seccomp-bpf"
	"github.com/kaio-go/kaio/internal/procinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// actionOf is the group action that names sys in p, and whether sys has
// argument conditions there.
func actionOf(p *seccompbpf.Policy, sys string) (a seccompbpf.Action, conditional, found bool) {
	for _, g := range p.Syscalls {
		if slices.Contains(g.Names, sys) {
			return g.Action, false, true
		}
		for _, nc := range g.NamesWithCondtions {
			if nc.Name == sys {
				return g.Action, true, true
			}
		}
	}
	return 0, false, false
}

// TestDockerPolicy: the translated profile allows what Docker allows and
// leaves out what Docker refuses, io_uring first.
func TestDockerPolicy(t *testing.T) {
	skipUnsupported(t)
	p, tr, err := DockerPolicy()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("names this architecture lacks: %v", tr.Unknown)
	t.Logf("approximations: %v", tr.Notes)
	if p.DefaultAction != seccompbpf.ActionErrno {
		t.Errorf("default action %v, want errno (EPERM)", p.DefaultAction)
	}
	for _, sys := range []string{"io_setup", "io_submit", "io_getevents", "io_pgetevents", "io_cancel", "io_destroy",
		"pread64", "pwrite64", "preadv2", "pwritev2", "fsync", "fdatasync", "epoll_pwait", "eventfd2", "futex", "mmap", "execve"} {
		if a, cond, ok := actionOf(p, sys); !ok || a != seccompbpf.ActionAllow || cond {
			t.Errorf("%s: action %v conditional %v found %v; want allowed unconditionally", sys, a, cond, ok)
		}
	}
	for _, sys := range []string{"io_uring_setup", "io_uring_enter", "io_uring_register", "mount", "unshare", "bpf", "ptrace_no_such"} {
		if a, _, ok := actionOf(p, sys); ok {
			t.Errorf("%s: in the policy with action %v; Docker's profile leaves it to the default (EPERM)", sys, a)
		}
	}
	if a, cond, ok := actionOf(p, "clone"); !ok || a != seccompbpf.ActionAllow || !cond {
		t.Errorf("clone: %v %v %v; want allowed only without namespace flags", a, cond, ok)
	}
	if a, _, ok := actionOf(p, "clone3"); !ok || a != seccompbpf.ActionErrno|seccompbpf.Action(unix.ENOSYS) {
		t.Errorf("clone3: %v %v; want ERRNO(ENOSYS), which sends glibc and Go back to clone", a, ok)
	}
	for _, n := range tr.Unknown {
		if slices.Contains([]string{"io_setup", "io_submit", "read", "openat"}, n) {
			t.Errorf("%s reported unknown to this architecture", n)
		}
	}
}

// TestTranslateRules: the rule forms runc knows, on a profile made up for
// them.
func TestTranslateRules(t *testing.T) {
	skipUnsupported(t)
	enosys := uint(unix.ENOSYS)
	prof := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "chown32"}, Action: specs.ActAllow},
			// Two comparisons of one argument: a range runc splits into two
			// rules, ORed; the comparison of another argument is ANDed.
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpGreaterEqual}, {Index: 0, Value: 3, Op: specs.OpLessEqual},
				{Index: 1, Value: 1, Op: specs.OpEqualTo}}},
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: unix.CLONE_NEWNS, Op: specs.OpMaskedEqual}}},
			// Conditions on a syscall also allowed unconditionally add nothing.
			{Names: []string{"write"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}},
			{Names: []string{"write"}, Action: specs.ActAllow},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
		},
	}
	p, tr, err := Translate(prof, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Unknown, []string{"chown32"}) || len(tr.Notes) != 1 || !strings.Contains(tr.Notes[0], "SCMP_ARCH_X86") {
		t.Errorf("translation notes: %+v", tr)
	}
	var sock []seccompbpf.ArgumentConditions
	for _, nc := range p.Syscalls[0].NamesWithCondtions {
		if nc.Name == "socket" {
			sock = append(sock, nc.Conditions)
		}
		if nc.Name == "write" {
			t.Error("write kept its conditions beside an unconditional rule")
		}
	}
	want := []seccompbpf.ArgumentConditions{
		{{Argument: 0, Operation: seccompbpf.GreaterOrEqual, Value: 1}},
		{{Argument: 0, Operation: seccompbpf.LessOrEqual, Value: 3}},
		{{Argument: 1, Operation: seccompbpf.Equal, Value: 1}},
	}
	if !slices.EqualFunc(sock, want, slices.Equal) {
		t.Errorf("socket's condition sets %+v, want %+v", sock, want)
	}
	if !slices.Contains(p.Syscalls[0].Names, "write") || len(p.Syscalls) != 2 ||
		p.Syscalls[1].Action != seccompbpf.ActionErrno|seccompbpf.Action(unix.ENOSYS) {
		t.Errorf("groups: %+v", p.Syscalls)
	}

	for _, bad := range []specs.LinuxSyscall{
		{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, ValueTwo: 1, Op: specs.OpMaskedEqual}}},
		{Names: []string{"read"}, Action: specs.ActNotify},
	} {
		if _, _, err := Translate(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{bad}}, "amd64"); err == nil {
			t.Errorf("%+v translated; go-seccomp-bpf cannot express it", bad)
		}
	}
}

func TestNamed(t *testing.T) {
	skipUnsupported(t)
	for _, bad := range []string{"podman", "errno:", "errno:io_setup", "errno:io_setup=EWHAT", "errno:no_such_call=EPERM"} {
		if _, err := Named(bad); err == nil {
			t.Errorf("Named(%q) accepted", bad)
		}
	}
	p, err := Named("errno:io_setup=ENOSYS,io_uring_setup=EPERM,io_submit=ENOSYS")
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _ := actionOf(p, "io_submit"); a != seccompbpf.ActionErrno|seccompbpf.Action(unix.ENOSYS) || p.DefaultAction != seccompbpf.ActionAllow {
		t.Errorf("io_submit: %v, default %v", a, p.DefaultAction)
	}
}

func rawErrno(trap uintptr, a ...uintptr) unix.Errno {
	a = append(a, 0, 0, 0)
	_, _, e := unix.RawSyscall(trap, a[0], a[1], a[2])
	return e
}

// TestInsideDockerProfile installs the profile in a child and checks what
// the kernel answers there, syscall by syscall, as inside a container.
func TestInsideDockerProfile(t *testing.T) {
	if Active() != "docker" {
		out := RunTests(t, "docker", "^TestInsideDockerProfile$")
		Expect(t, out, map[string]string{"TestInsideDockerProfile": "PASS"})
		return
	}
	st := procinfo.ReadStatus()
	if !st.Filtered() || st.SeccompFilters == 0 {
		t.Fatalf("no filter in /proc/self/status: %s", st.SeccompString())
	}
	t.Log(st.SeccompString())
	var params [120]byte
	if e := rawErrno(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0]))); e != unix.EPERM {
		t.Errorf("io_uring_setup: %v, want EPERM", e)
	}
	for _, sys := range []uintptr{unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER} {
		// fd -1 would be EBADF if the kernel saw the call.
		if e := rawErrno(sys, ^uintptr(0)); e != unix.EPERM {
			t.Errorf("syscall %d on fd -1: %v, want EPERM from the filter", sys, e)
		}
	}
	var ctx uintptr
	if e := rawErrno(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx))); e != 0 {
		t.Errorf("io_setup: %v; Docker allows Linux AIO", e)
	} else if e := rawErrno(unix.SYS_IO_DESTROY, ctx); e != 0 {
		t.Errorf("io_destroy: %v", e)
	}
	// Argument conditions: personality may query (0xffffffff) but not set
	// ADDR_NO_RANDOMIZE; socket may make AF_INET but not AF_ALG (38); clone
	// may not make namespaces; clone3 is ENOSYS.
	if e := rawErrno(unix.SYS_PERSONALITY, 0xffffffff); e != 0 {
		t.Errorf("personality(0xffffffff): %v", e)
	}
	if e := rawErrno(unix.SYS_PERSONALITY, addrNoRandomize); e != unix.EPERM {
		t.Errorf("personality(ADDR_NO_RANDOMIZE): %v, want EPERM", e)
	}
	if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		t.Errorf("socket(AF_INET): %v", err)
	} else {
		unix.Close(fd)
	}
	// On 386 socket(2) is socketcall(2), whose arguments live in memory
	// that a seccomp filter cannot read: Docker's profile allows it whole.
	if _, err := unix.Socket(unix.AF_ALG, unix.SOCK_SEQPACKET, 0); !errors.Is(err, unix.EPERM) && runtime.GOARCH != "386" {
		t.Errorf("socket(AF_ALG): %v, want EPERM", err)
	}
	if e := rawErrno(unix.SYS_CLONE, unix.CLONE_NEWUSER|uintptr(unix.SIGCHLD)); e != unix.EPERM {
		t.Errorf("clone(CLONE_NEWUSER): %v, want EPERM", e)
	}
	if e := rawErrno(unix.SYS_CLONE3, 0, 0); e != unix.ENOSYS {
		t.Errorf("clone3: %v, want ENOSYS", e)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); !errors.Is(err, unix.EPERM) {
		t.Errorf("unshare: %v, want EPERM", err)
	}
}

// TestInsideErrnoPolicy: a policy that refuses one syscall with the errno
// given, and nothing else.
func TestInsideErrnoPolicy(t *testing.T) {
	const policy = "errno:io_setup=ENOSYS"
	if Active() != policy {
		out := RunTests(t, policy, "^TestInsideErrnoPolicy$")
		Expect(t, out, map[string]string{"TestInsideErrnoPolicy": "PASS"})
		return
	}
	var ctx uintptr
	if e := rawErrno(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx))); e != unix.ENOSYS {
		t.Errorf("io_setup: %v, want ENOSYS", e)
	}
	var params [120]byte
	fd, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if e != 0 {
		t.Errorf("io_uring_setup: %v; the policy does not name it", e)
	} else {
		unix.Close(int(fd))
	}
}

// addrNoRandomize is ADDR_NO_RANDOMIZE of linux/personality.h, which x/sys
// does not define.
const addrNoRandomize = 0x0040000

// skipUnsupported skips where no policy can be made or installed (an
// architecture go-seccomp-bpf has no syscall table for, such as s390x).
func skipUnsupported(t *testing.T) {
	t.Helper()
	if ok, why := Supported(); !ok {
		t.Skip(why)
	}
}
