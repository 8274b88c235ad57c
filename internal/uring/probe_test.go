//go:build linux

package uring

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/enginetest"
	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

// TestProbeReasons plays machines whose kernel refuses io_uring_setup and
// checks that Probe names the cause. The same refusals for real are in
// TestProbeUnder* (seccomp, RLIMIT_MEMLOCK) and, gated, the root package's
// sysctl tests.
func TestProbeReasons(t *testing.T) {
	enginetest.Keep(t, &probeSetup)
	enginetest.Keep(t, &readFacts)
	none, filtered := enginetest.NoFilter, enginetest.Filtered
	admin := procinfo.Status{Known: true, CapEff: 1<<procinfo.CapSysAdmin | 1<<procinfo.CapIPCLock}
	for _, tc := range []struct {
		errno unix.Errno
		f     facts
		want  []string
	}{
		{unix.ENOSYS, facts{status: none}, []string{"no io_uring", "(ENOSYS)"}},
		{unix.ENOSYS, facts{status: filtered}, []string{"no io_uring", "or a seccomp filter (Seccomp: 2, Seccomp_filters: 1)"}},
		{unix.ENOSYS, facts{status: filtered, disabled: "0"}, []string{"answered by a seccomp filter", "this kernel has io_uring"}},
		{unix.EPERM, facts{status: filtered, disabled: "0"}, []string{"refused by a seccomp filter (Seccomp: 2, Seccomp_filters: 1)", "(EPERM)"}},
		{unix.EPERM, facts{status: none, disabled: "0"}, []string{"no seccomp filter (Seccomp: 0, Seccomp_filters: 0)", "security module"}},
		{unix.EPERM, facts{status: none, disabled: "2"}, []string{"kernel.io_uring_disabled=2", "(EPERM)"}},
		{unix.EPERM, facts{status: filtered, disabled: "2"}, []string{"kernel.io_uring_disabled=2", "seccomp filter is installed as well"}},
		{unix.EPERM, facts{status: none, disabled: "1", group: "-1"}, []string{"kernel.io_uring_disabled=1", "io_uring_group=-1", "CAP_SYS_ADMIN"}},
		{unix.EPERM, facts{status: none, disabled: "1", group: "1234"}, []string{"members of kernel.io_uring_group (gid 1234)", "neither"}},
		// Allowed by the sysctl (CAP_SYS_ADMIN, or in the group): someone else refused.
		{unix.EPERM, facts{status: admin, disabled: "1", group: "-1"}, []string{"security module"}},
		{unix.EPERM, facts{status: filtered, disabled: "1", group: "7", inGroup: true}, []string{"refused by a seccomp filter"}},
		{unix.ENOMEM, facts{status: none, memlock: "64 KiB"}, []string{"RLIMIT_MEMLOCK (64 KiB)", "without CAP_IPC_LOCK", "(ENOMEM)"}},
		{unix.ENOMEM, facts{status: admin, memlock: "64 KiB"}, []string{"out of kernel memory", "CAP_IPC_LOCK"}},
		{unix.EINVAL, facts{status: none}, []string{"io_uring_setup failed (EINVAL)"}},
	} {
		probeSetup = func(uint32, *params) (int, error) { return -1, tc.errno }
		readFacts = func() facts { return tc.f }
		st := Probe()
		enginetest.CheckReason(t, fmt.Sprintf("%s %v, %+v", "setup", tc.errno, tc.f), st.Usable, st.Err, st.Reason, tc.errno, tc.want)
	}
}

// TestSetupReason: the reason kaio.Setup's error gives names the context's
// size and passes other errors through.
func TestSetupReason(t *testing.T) {
	enginetest.Keep(t, &readFacts)
	readFacts = func() facts { return facts{memlock: "8 KiB"} }
	if r := SetupReason(unix.ENOMEM, 4096); !strings.Contains(r, "a ring for 4096 events") || !strings.Contains(r, "RLIMIT_MEMLOCK (8 KiB)") {
		t.Errorf("ENOMEM: %q", r)
	}
	if r := SetupReason(errors.New("other"), 4); r != "other" {
		t.Errorf("non-errno: %q", r)
	}
}

// TestProbeUnderSeccomp: seccomp filters that refuse one io_uring syscall
// each, for real, in children of the test binary: Probe names the filter
// and the call. (A kernel truly without io_uring cannot be had here: the
// ENOSYS a filter returns stands in for it, and Probe tells the two apart
// by kernel.io_uring_disabled, which only a kernel with io_uring has.)
func TestProbeUnderSeccomp(t *testing.T) {
	enosys := "ENOSYS:the kernel has no io_uring"
	if _, ok := procinfo.Sysctl("kernel.io_uring_disabled"); ok {
		enosys = "ENOSYS:answered by a seccomp filter (Seccomp: 2"
	}
	enginetest.ProbeUnderSeccomp(t, "TestProbeUnderSeccomp", probe, []enginetest.Refusal{
		{Policy: "errno:io_uring_setup=EPERM", Expect: "EPERM:io_uring_setup refused by a seccomp filter (Seccomp: 2"},
		{Policy: "errno:io_uring_setup=ENOSYS", Expect: enosys},
		{Policy: "errno:io_uring_enter=EPERM", Expect: "EPERM:io_uring_enter refused by a seccomp filter"},
		{Policy: "errno:io_uring_register=ENOSYS", Expect: "ENOSYS:io_uring_register refused by a seccomp filter"},
	})
}

// probe is Probe for enginetest.ProbeUnderSeccomp.
func probe() (bool, string, error) { st := Probe(); return st.Usable, st.Reason, st.Err }
