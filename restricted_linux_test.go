package kaio_test

// Where io_uring is refused, as in containers (issue 13): inside Docker's
// default seccomp profile, under kernel.io_uring_disabled, and with the
// rings over RLIMIT_MEMLOCK. Each setting runs in a child process of this
// test binary, a fresh process in which auto has not chosen yet; the child
// runs TestURingHere, which checks what Probe, auto and Setup say there,
// and the conformance suite on auto and native.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/conformance"
	"github.com/kaio-go/kaio/internal/dockerseccomp"
	"github.com/kaio-go/kaio/internal/procinfo"
	"github.com/kaio-go/kaio/internal/sysctltest"
	"golang.org/x/sys/unix"
)

// envExpect tells TestURingHere what to find: "usable", or "ERRNO:text"
// for io_uring refused with that errno and a reason containing text.
const envExpect = "KAIO_EXPECT_URING"

// envMemlock makes the child lower its RLIMIT_MEMLOCK to 0 when it starts.
const envMemlock = "KAIO_TEST_MEMLOCK_ZERO"

func init() {
	// Before TestMain and before any test: no ring is set up before it.
	if os.Getenv(envMemlock) == "1" {
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{}); err != nil {
			panic("lowering RLIMIT_MEMLOCK: " + err.Error())
		}
	}
}

// childTests are what each restricted child runs, and what they must do
// there: uring's conformance skips (Probe says why), auto's and native's
// pass.
const childTests = "^(TestURingHere|TestConformanceAuto|TestConformanceNative|TestConformanceURing)$"

// expect checks the child's outcomes and logs what TestURingHere saw
// there.
func expect(t *testing.T, out string, want map[string]string) {
	t.Helper()
	for _, l := range dockerseccomp.Log(out, "TestURingHere") {
		t.Log("child: " + l)
	}
	dockerseccomp.Expect(t, out, want)
}

var childOutcomes = map[string]string{
	"TestURingHere":         "PASS",
	"TestConformanceAuto":   "PASS",
	"TestConformanceNative": "PASS",
	"TestConformanceURing":  "SKIP",
}

// TestConformanceAuto runs the suite on the engine a user gets by default,
// where that is not uring (TestConformanceURing covers uring): in the
// restricted children below, where it is retry.
func TestConformanceAuto(t *testing.T) {
	c, err := kaio.Setup(1)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Engine()
	c.Destroy()
	if e == kaio.EngineURing {
		t.Skip("auto is uring here, which TestConformanceURing runs the suite on")
	}
	t.Logf("auto is %v here", e)
	conformance.Run(t)
}

// TestURingHere checks, in a restricted child, that Probe says why io_uring
// is refused, that auto falls back to retry and that Setup on uring names
// the same cause; or, with "usable", that io_uring works. It skips in a
// plain run.
func TestURingHere(t *testing.T) {
	want := os.Getenv(envExpect)
	if want == "" {
		t.Skip("runs in the children of TestInsideDockerProfile, TestURingOverMemlock and the gated sysctl tests")
	}
	st := map[kaio.Engine]kaio.EngineStatus{}
	for _, s := range kaio.Probe() {
		st[s.Engine] = s
		t.Logf("Probe: %v usable %v: %s", s.Engine, s.Usable, s.Reason)
	}
	if !st[kaio.EngineRetry].Usable || !st[kaio.EngineNative].Usable {
		t.Errorf("retry or native unusable: %+v", st)
	}
	if want == "usable" {
		if !st[kaio.EngineURing].Usable {
			t.Fatalf("uring unusable: %s", st[kaio.EngineURing].Reason)
		}
		return
	}
	errname, text, _ := strings.Cut(want, ":")
	ur := st[kaio.EngineURing]
	if ur.Usable || unix.ErrnoName(errnoOf(ur.Err)) != errname || !strings.Contains(ur.Reason, text) {
		t.Fatalf("Probe says uring usable %v, %v: %q; want %s and a reason with %q", ur.Usable, ur.Err, ur.Reason, errname, text)
	}

	_, err := kaio.Setup(64, kaio.WithEngine(kaio.EngineURing))
	var se *kaio.SetupError
	if !errors.As(err, &se) || unix.ErrnoName(errnoOf(se.Err)) != errname || !strings.Contains(err.Error(), text) {
		t.Errorf("Setup on uring: %v; want a *SetupError, %s, with %q", err, errname, text)
	}
	t.Logf("Setup on uring: %v", err)

	c, err := kaio.Setup(64)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	if c.Engine() != kaio.EngineRetry {
		t.Fatalf("auto chose %v with io_uring refused, want retry", c.Engine())
	}
	if n := directRoundTrip(t, c, 16); n > 0 {
		checkODirectViaLinuxAIO(t, c.Stats(), n)
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	errors.As(err, &e)
	return e
}

// directRoundTrip writes n 4 KiB blocks to an O_DIRECT file in one Submit,
// reads them back in another and compares; it returns how many O_DIRECT
// requests it made (0 when the file system refuses O_DIRECT).
func directRoundTrip(t *testing.T, c *kaio.Context, n int) uint64 {
	t.Helper()
	fd, err := unix.Open(filepath.Join(t.TempDir(), "direct"), unix.O_CREAT|unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Logf("no O_DIRECT round trip: %v", err)
		return 0
	}
	defer unix.Close(fd)
	const bs = 4096
	mem := alignedBlock(2 * n * bs)
	w, r := mem[:n*bs], mem[n*bs:]
	for i := range w {
		w[i] = byte(i*7 + i/bs)
	}
	for _, op := range []kaio.Op{kaio.OpPWrite, kaio.OpPRead} {
		buf := w
		if op == kaio.OpPRead {
			buf = r
		}
		iocbs := make([]*kaio.Iocb, n)
		for i := range iocbs {
			iocbs[i] = &kaio.Iocb{Op: op, Fd: fd, Buf: buf[i*bs : (i+1)*bs], Offset: int64(i * bs), Data: uint64(i)}
		}
		if k, err := c.Submit(iocbs...); k != n || err != nil {
			t.Fatalf("Submit %v: %d, %v", op, k, err)
		}
		evs := make([]kaio.Event, n)
		for got := 0; got < n; {
			k, err := c.GetEvents(1, evs[got:], -1)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs[got : got+k] {
				if ev.Res != bs {
					t.Fatalf("%v block %d: %d (%v)", op, ev.Data, ev.Res, ev.Err())
				}
			}
			got += k
		}
	}
	if !bytes.Equal(w, r) {
		t.Fatal("O_DIRECT read back differs from what was written")
	}
	return uint64(2 * n)
}

// alignedBlock is n bytes at a 4 KiB-aligned address, as O_DIRECT wants.
func alignedBlock(n int) []byte {
	b := make([]byte, n+4096)
	off := int(4096-uintptr(unsafe.Pointer(&b[0]))%4096) % 4096
	return b[off : off+n]
}

// checkODirectViaLinuxAIO asserts that n O_DIRECT requests made on a
// retry context with Linux AIO usable went to Linux AIO (Stats.LinuxAIO),
// as Linux 2.6 did, not to the offload workers.
func checkODirectViaLinuxAIO(t *testing.T, st kaio.Stats, n uint64) {
	t.Helper()
	if st.LinuxAIO < n {
		t.Errorf("Stats.LinuxAIO = %d after %d O_DIRECT requests with Linux AIO usable; want them all there (%+v)", st.LinuxAIO, n, st)
	}
}

// uringRefusedAlready skips when io_uring is refused here before the test
// refuses it in its own way, which would change the reason.
func uringRefusedAlready(t *testing.T) {
	t.Helper()
	for _, s := range kaio.Probe() {
		if s.Engine == kaio.EngineURing && !s.Usable {
			t.Skipf("io_uring is refused here already: %s", s.Reason)
		}
	}
}

// TestInsideDockerProfile: inside Docker's default seccomp profile Probe
// says a seccomp filter refused io_uring, auto is retry, and the suite
// passes on auto and native.
func TestInsideDockerProfile(t *testing.T) {
	uringRefusedAlready(t)
	out := dockerseccomp.RunTests(t, "docker", childTests, envExpect+"=EPERM:refused by a seccomp filter (Seccomp: 2")
	expect(t, out, childOutcomes)
	if r := dockerseccomp.SkipReason(out, "TestConformanceURing"); !strings.Contains(r, "seccomp filter") {
		t.Errorf("uring's conformance skipped for %q, want the seccomp filter named", r)
	}
}

// TestURingOverMemlock: a process without CAP_IPC_LOCK whose RLIMIT_MEMLOCK
// is 0 cannot have io_uring's rings (Linux charges them to it); Probe says
// so with the limit, auto is retry, the suite passes on auto and native.
// As root the child runs as nobody (65534), which has no capabilities.
func TestURingOverMemlock(t *testing.T) {
	uringRefusedAlready(t)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: false}
	} else if procinfo.ReadStatus().HasCap(procinfo.CapIPCLock) {
		t.Skip("this user has CAP_IPC_LOCK, which exempts io_uring from RLIMIT_MEMLOCK, and cannot become another")
	}
	out := dockerseccomp.Child{
		Run:  childTests,
		Env:  []string{envMemlock + "=1", envExpect + "=ENOMEM:RLIMIT_MEMLOCK (0 bytes)"},
		Cred: cred,
	}.Output(t)
	expect(t, out, childOutcomes)
}

// The tests below change machine-wide settings: see internal/sysctltest.

// TestURingDisabledSysctl: with kernel.io_uring_disabled=2 Probe names
// the sysctl, auto is retry, the suite passes on auto and native.
func TestURingDisabledSysctl(t *testing.T) {
	sysctltest.Gate(t)
	uringRefusedAlready(t)
	defer sysctltest.Set(t, "kernel.io_uring_disabled", "2")()
	out := dockerseccomp.Child{Run: childTests, Env: []string{envExpect + "=EPERM:kernel.io_uring_disabled=2"}}.Output(t)
	expect(t, out, childOutcomes)
}

// TestURingGroupSysctl: with kernel.io_uring_disabled=1, io_uring is for
// the members of kernel.io_uring_group (and CAP_SYS_ADMIN): Probe in a
// process outside the group names the group; inside it, uring works.
func TestURingGroupSysctl(t *testing.T) {
	sysctltest.Gate(t)
	uringRefusedAlready(t)
	if _, ok := procinfo.Sysctl("kernel.io_uring_group"); !ok {
		t.Skip("the kernel has no kernel.io_uring_group")
	}
	const gid = 54321 // a group nobody on the machine is in
	defer sysctltest.Set(t, "kernel.io_uring_group", "54321")()
	defer sysctltest.Set(t, "kernel.io_uring_disabled", "1")()
	out := dockerseccomp.Child{
		Run:  "^TestURingHere$",
		Env:  []string{envExpect + "=EPERM:members of kernel.io_uring_group (gid 54321)"},
		Cred: &syscall.Credential{Uid: 65534, Gid: 65534},
	}.Output(t)
	expect(t, out, map[string]string{"TestURingHere": "PASS"})
	out = dockerseccomp.Child{
		Run:  "^TestURingHere$",
		Env:  []string{envExpect + "=usable"},
		Cred: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{gid}},
	}.Output(t)
	expect(t, out, map[string]string{"TestURingHere": "PASS"})
}

// TestAioMaxNrExhausted: with fs.aio-nr at fs.aio-max-nr (every event of
// the machine's Linux AIO reserved, here by this test's own contexts),
// Probe and Setup on native say EAGAIN with both values, and retry still
// passes the suite.
func TestAioMaxNrExhausted(t *testing.T) {
	sysctltest.Gate(t)
	max, ok := procinfo.SysctlInt("fs.aio-max-nr")
	if !ok {
		t.Skip("the kernel has no fs.aio-max-nr (no Linux AIO)")
	}
	if max > 1<<22 {
		t.Skipf("fs.aio-max-nr is %d: too many events to reserve cheaply", max)
	}
	var ctxs []uintptr
	defer func() {
		for _, c := range ctxs {
			unix.Syscall(unix.SYS_IO_DESTROY, c, 0, 0)
		}
	}()
	for {
		nr, _ := procinfo.SysctlInt("fs.aio-nr")
		n := min(max-nr, 1<<16)
		if n <= 0 {
			n = 1
		}
		var ctx uintptr
		if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, uintptr(n), uintptr(unsafe.Pointer(&ctx)), 0); e == unix.EAGAIN && n == 1 {
			break
		} else if e != 0 && e != unix.EAGAIN {
			t.Fatalf("io_setup(%d) reserving fs.aio-nr: %v", n, e)
		} else if e == 0 {
			ctxs = append(ctxs, ctx)
		}
	}
	nr, _ := procinfo.SysctlInt("fs.aio-nr")
	t.Logf("fs.aio-nr %d of fs.aio-max-nr %d, %d contexts of this test", nr, max, len(ctxs))
	for _, s := range kaio.Probe() {
		if s.Engine != kaio.EngineNative {
			continue
		}
		if s.Usable || !errors.Is(s.Err, unix.EAGAIN) || !strings.Contains(s.Reason, "fs.aio-nr") || !strings.Contains(s.Reason, "fs.aio-max-nr") {
			t.Errorf("Probe on native: %+v; want EAGAIN naming fs.aio-nr and fs.aio-max-nr", s)
		}
		t.Logf("Probe: native: %s", s.Reason)
	}
	_, err := kaio.Setup(4, kaio.WithEngine(kaio.EngineNative))
	if !errors.Is(err, unix.EAGAIN) || !strings.Contains(err.Error(), "would exceed fs.aio-max-nr") {
		t.Errorf("Setup on native: %v; want EAGAIN naming the limit", err)
	}
	t.Logf("Setup on native: %v", err)
	conformance.Run(t, kaio.WithEngine(kaio.EngineRetry))
}

// TestRetryWithoutPreadv2: where preadv2 and pwritev2 do not exist (ENOSYS:
// Linux before 4.6, Debian 12's qemu-user), the retry engine reads and
// writes with preadv, pwritev, readv and writev, waiting in a worker or
// on the poller where RWF_NOWAIT would have said EAGAIN: the whole suite
// passes, with both syscalls refused by a seccomp filter in a child.
func TestRetryWithoutPreadv2(t *testing.T) {
	out := dockerseccomp.RunTests(t, "errno:preadv2=ENOSYS,pwritev2=ENOSYS", "^TestConformanceRetry$")
	dockerseccomp.Expect(t, out, map[string]string{"TestConformanceRetry": "PASS"})
}
