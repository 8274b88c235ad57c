//go:build linux

package enginetest

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/dockerseccomp"
	"github.com/kaio-go/kaio/internal/procinfo"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Shared runs, as subtests, the tests both kernel engines share, and checks
// that Probe gives a reason when it says no.
func Shared(t *testing.T, e *Engine) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *Engine)
	}{
		{"CapacityExact", CapacityExact},
		{"GCDuringIO", GCDuringIO},
		{"StreamWriteContinues", StreamWriteContinues},
		{"CancelAnswers", CancelAnswers},
		{"DestroyEndsWaiters", DestroyEndsWaiters},
		{"WaiterSeesUserSpaceCompletion", WaiterSeesUserSpaceCompletion},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, e) })
	}
	t.Run("Probe", func(t *testing.T) {
		ok, reason := e.Probe()
		t.Logf("%s: usable %v, %s", e.Name, ok, reason)
		if !ok && reason == "" {
			t.Fatal("unusable without a reason")
		}
	})
}

// Field is one field (or size) of a structure shared with the kernel: what
// unsafe says, and what the kernel's header says.
type Field struct {
	Name      string
	Got, Want uintptr
}

// CheckLayout fails t for every field whose offset or size is not the
// kernel's.
func CheckLayout(t *testing.T, fields []Field) {
	for _, f := range fields {
		if f.Got != f.Want {
			t.Errorf("%s = %d, want %d", f.Name, f.Got, f.Want)
		}
	}
}

// CheckReason fails t unless a probe that saw errno said no, with that
// errno, and a reason that holds every string of want. what says what
// was played.
func CheckReason(t *testing.T, what string, usable bool, err error, reason string, errno unix.Errno, want []string) {
	t.Helper()
	if usable || !errors.Is(err, errno) {
		t.Errorf("%s: usable %v, err %v; want unusable with %v", what, usable, err, errno)
	}
	for _, w := range want {
		if !strings.Contains(reason, w) {
			t.Errorf("%s: reason %q lacks %q", what, reason, w)
		}
	}
}

// Refusal is a seccomp policy (dockerseccomp's syntax) and what Probe must
// say under it: an errno's name, a colon, and text the reason holds.
type Refusal struct{ Policy, Expect string }

// ProbeUnderSeccomp runs the calling test again in a child of the test
// binary under each refusal's seccomp policy, where probe must give the
// errno and text expected. test is the calling test's name; in the child,
// ProbeUnderSeccomp makes the check itself.
func ProbeUnderSeccomp(t *testing.T, test string, probe func() (bool, string, error), refusals []Refusal) {
	if p := dockerseccomp.Active(); p != "" {
		errname, text, _ := strings.Cut(os.Getenv("KAIO_TEST_EXPECT"), ":")
		usable, reason, err := probe()
		var e unix.Errno
		errors.As(err, &e)
		if usable || unix.ErrnoName(e) != errname || !strings.Contains(reason, text) {
			t.Fatalf("under %s: usable %v, %q (%v); want %s with %q", p, usable, reason, err, errname, text)
		}
		t.Log(reason)
		return
	}
	for _, r := range refusals {
		out := dockerseccomp.RunTests(t, r.Policy, "^"+test+"$", "KAIO_TEST_EXPECT="+r.Expect)
		dockerseccomp.Expect(t, out, map[string]string{test: "PASS"})
		for _, l := range dockerseccomp.Log(out, test) {
			t.Logf("%s: %s", r.Policy, l)
		}
	}
}

// The process statuses the probe tests play: no seccomp filter, and one
// filter in mode 2 (SECCOMP_MODE_FILTER).
var (
	NoFilter = procinfo.Status{Known: true}
	Filtered = procinfo.Status{Known: true, SeccompMode: 2, SeccompFilters: 1}
)

// Main is TestMain for an engine's package: the tests, then a check that
// no goroutine outlived them.
func Main(m *testing.M) { goleak.VerifyTestMain(m) }

// Keep restores *p to its value now when t ends: for tests that play a
// machine by replacing a package's probe functions.
func Keep[T any](t testing.TB, p *T) {
	old := *p
	t.Cleanup(func() { *p = old })
}
