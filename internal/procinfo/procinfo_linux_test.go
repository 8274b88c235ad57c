package procinfo

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Status
		str  string
	}{
		{"Name:\tx\nCapEff:\t000001ffffffffff\nSeccomp:\t0\nSeccomp_filters:\t0\n",
			Status{Known: true, CapEff: 0x1ffffffffff}, "Seccomp: 0, Seccomp_filters: 0"},
		{"Seccomp:\t2\nSeccomp_filters:\t3\nCapEff:\t0000000000000000\n",
			Status{Known: true, SeccompMode: 2, SeccompFilters: 3}, "Seccomp: 2, Seccomp_filters: 3"},
		// Before Linux 5.9 there is no Seccomp_filters line.
		{"Seccomp:\t2\n", Status{Known: true, SeccompMode: 2, SeccompFilters: -1}, "Seccomp: 2"},
		{"", Status{SeccompFilters: -1}, "seccomp state unknown: /proc/self/status unreadable"},
	} {
		got := ParseStatus([]byte(tc.text))
		if got != tc.want || got.SeccompString() != tc.str {
			t.Errorf("%q: %+v %q; want %+v %q", tc.text, got, got.SeccompString(), tc.want, tc.str)
		}
	}
	if !ParseStatus([]byte("CapEff:\t0000000000204000\n")).HasCap(CapSysAdmin) ||
		ParseStatus([]byte("CapEff:\t0000000000200000\n")).HasCap(CapIPCLock) {
		t.Error("HasCap reads the wrong bits")
	}
}

// TestReadStatus: the real file, against what the kernel says through
// other calls.
func TestReadStatus(t *testing.T) {
	s := ReadStatus()
	if !s.Known {
		t.Skip("no /proc/self/status here")
	}
	mode, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if err != nil {
		t.Skipf("PR_GET_SECCOMP: %v", err)
	}
	if mode != s.SeccompMode {
		t.Errorf("status says seccomp mode %d, PR_GET_SECCOMP %d", s.SeccompMode, mode)
	}
	if (os.Geteuid() == 0) != s.HasCap(CapSysAdmin) {
		t.Logf("euid %d, CAP_SYS_ADMIN %v (a container may drop it)", os.Geteuid(), s.HasCap(CapSysAdmin))
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 bytes", 65536: "64 KiB", 8 << 20: "8 MiB", 3 << 30: "3 GiB", 1000: "1000 bytes",
		unix.RLIM_INFINITY: "unlimited",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSysctl(t *testing.T) {
	if SysctlPath("kernel.io_uring_disabled") != "/proc/sys/kernel/io_uring_disabled" {
		t.Fatal(SysctlPath("kernel.io_uring_disabled"))
	}
	if _, ok := Sysctl("kernel.no_such_sysctl_here"); ok {
		t.Fatal("a sysctl that does not exist was read")
	}
	if n, ok := SysctlInt("kernel.pid_max"); ok && n <= 0 {
		t.Fatalf("kernel.pid_max %d", n)
	}
}

func TestInGroup(t *testing.T) {
	if !InGroup(os.Getegid()) {
		t.Fatal("not in its own effective group")
	}
	if InGroup(1<<30 + 7) {
		t.Fatal("in a group nobody has")
	}
}
