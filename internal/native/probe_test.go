//go:build linux

package native

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/enginetest"
	"github.com/kaio-go/kaio/internal/linuxaio"
	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

// TestProbeReasons plays machines whose kernel refuses io_setup and checks
// that Probe names the cause. The same refusals for real: seccomp in
// TestProbeUnderSeccomp, aio-max-nr in the root package's gated tests.
func TestProbeReasons(t *testing.T) {
	enginetest.Keep(t, &probeSetup)
	enginetest.Keep(t, &readFacts)
	none, filtered := enginetest.NoFilter, enginetest.Filtered
	for _, tc := range []struct {
		errno unix.Errno
		f     facts
		want  []string
	}{
		{unix.ENOSYS, facts{status: none, aioMaxNr: -1}, []string{"CONFIG_AIO", "(ENOSYS)"}},
		{unix.ENOSYS, facts{status: filtered, aioMaxNr: 65536}, []string{"answered by a seccomp filter (Seccomp: 2, Seccomp_filters: 1)", "this kernel has Linux AIO"}},
		{unix.ENOSYS, facts{status: filtered, aioMaxNr: -1}, []string{"CONFIG_AIO", "or a seccomp filter"}},
		{unix.EPERM, facts{status: filtered}, []string{"refused by a seccomp filter (Seccomp: 2, Seccomp_filters: 1)", "(EPERM)"}},
		{unix.EPERM, facts{status: none}, []string{"no seccomp filter", "security module"}},
		{unix.EAGAIN, facts{status: none, aioNr: 65536, aioMaxNr: 65536}, []string{"fs.aio-nr 65536 + 1 would exceed fs.aio-max-nr 65536", "(EAGAIN)"}},
		{unix.EAGAIN, facts{status: none, aioNr: 0, aioMaxNr: 0}, []string{"more than fs.aio-max-nr (0)"}},
		{unix.ENOMEM, facts{status: none}, []string{"memory", "(ENOMEM)"}},
		{unix.EINVAL, facts{status: none}, []string{"io_setup for 1 event:", "(EINVAL)"}},
		{unix.EBADF, facts{status: none}, []string{"io_setup for 1 event failed (EBADF)"}},
	} {
		probeSetup = func(int) (linuxaio.Context, *linuxaio.RingHeader, error) { return 0, nil, tc.errno }
		readFacts = func() facts { return tc.f }
		st := Probe()
		enginetest.CheckReason(t, fmt.Sprintf("%s %v, %+v", "io_setup", tc.errno, tc.f), st.Usable, st.Err, st.Reason, tc.errno, tc.want)
	}
}

// TestSetupReason: New asks the kernel for nrEvents plus the slots it keeps
// for Do, and the reason counts those too, as fs.aio-nr does.
func TestSetupReason(t *testing.T) {
	enginetest.Keep(t, &readFacts)
	readFacts = func() facts { return facts{aioNr: 100, aioMaxNr: 65536} }
	want := "io_setup for 1048640 events: more than fs.aio-max-nr (65536)"
	if r := SetupReason(unix.EAGAIN, 1<<20); !strings.Contains(r, want) {
		t.Errorf("EAGAIN: %q, want %q", r, want)
	}
	if r := SetupReason(errors.New("other"), 4); r != "other" {
		t.Errorf("non-errno: %q", r)
	}
}

// TestSetupReasonReal: a context bigger than fs.aio-max-nr, for real.
func TestSetupReasonReal(t *testing.T) {
	if st := Probe(); !st.Usable {
		t.Skipf("Linux AIO is not usable here: %s", st.Reason)
	}
	max, ok := procinfo.SysctlInt("fs.aio-max-nr")
	if !ok || max > 1<<24 {
		t.Skipf("fs.aio-max-nr is %d (ok %v): too large to exceed cheaply", max, ok)
	}
	c, err := New(int(max))
	if err == nil {
		c.Destroy()
		t.Fatalf("New(%d) with fs.aio-max-nr %d succeeded", max, max)
	}
	r := SetupReason(err, int(max))
	if !errors.Is(err, unix.EAGAIN) || !strings.Contains(r, "fs.aio-max-nr") {
		t.Fatalf("New(%d): %v; reason %q", max, err, r)
	}
	t.Log(r)
}

// TestProbeUnderSeccomp: seccomp filters that refuse io_setup or
// io_submit, for real, in children of the test binary: Probe names the
// filter and the call. (A kernel without Linux AIO cannot be had here:
// the filter's ENOSYS stands in for it, told apart by fs.aio-max-nr.)
func TestProbeUnderSeccomp(t *testing.T) {
	enginetest.ProbeUnderSeccomp(t, "TestProbeUnderSeccomp", probe, []enginetest.Refusal{
		{Policy: "errno:io_setup=EPERM", Expect: "EPERM:io_setup for 1 event refused by a seccomp filter (Seccomp: 2"},
		{Policy: "errno:io_setup=ENOSYS", Expect: "ENOSYS:io_setup for 1 event answered by a seccomp filter (Seccomp: 2"},
		{Policy: "errno:io_submit=EPERM", Expect: "EPERM:io_submit refused by a seccomp filter"},
	})
}

// probe is Probe for enginetest.ProbeUnderSeccomp.
func probe() (bool, string, error) { st := Probe(); return st.Usable, st.Reason, st.Err }
