package sysctltest

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSetRestores: a harmless sysctl (the kernel's printk ratelimit burst)
// is changed for a subtest and back afterwards, also when the subtest
// fails.
func TestSetRestores(t *testing.T) {
	const name = "kernel.printk_ratelimit_burst"
	Gate(t)
	read := func() string {
		b, err := os.ReadFile(Path(name))
		if err != nil {
			t.Skipf("no %s: %v", name, err)
		}
		return strings.TrimSpace(string(b))
	}
	before := read()
	want := "11"
	if before == want {
		want = "12"
	}
	t.Run("set", func(t *testing.T) {
		restore := Set(t, name, want)
		defer restore()
		if got := read(); got != want {
			t.Fatalf("%s is %s after Set(%s)", name, got, want)
		}
	})
	if got := read(); got != before {
		t.Fatalf("%s is %s after the subtest, want %s back", name, got, before)
	}
}

func TestPath(t *testing.T) {
	if p := Path("kernel.io_uring_disabled"); p != "/proc/sys/kernel/io_uring_disabled" {
		t.Fatal(p)
	}
}

// TestSetRestoresAfterFailure: a child test that sets the sysctl, then
// fails (t.Fatal), panics, or is killed by SIGTERM, leaves the old value
// behind.
func TestSetRestoresAfterFailure(t *testing.T) {
	const name = "kernel.printk_ratelimit_burst"
	if how := os.Getenv("SYSCTLTEST_CHILD"); how != "" {
		Set(t, name, "13")
		switch how {
		case "fatal":
			t.Fatal("failing on purpose with the sysctl set")
		case "panic":
			panic("panicking on purpose with the sysctl set")
		case "sigterm":
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			time.Sleep(10 * time.Second)
		}
		return
	}
	Gate(t)
	before, err := os.ReadFile(Path(name))
	if err != nil {
		t.Skipf("no %s: %v", name, err)
	}
	for _, how := range []string{"fatal", "panic", "sigterm"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSetRestoresAfterFailure$", "-test.v")
		cmd.Env = append(os.Environ(), "SYSCTLTEST_CHILD="+how)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "set "+name+"=13") {
			t.Errorf("%s: the child did not set and fail: %v\n%s", how, err, out)
		}
		if after, _ := os.ReadFile(Path(name)); string(after) != string(before) {
			t.Errorf("%s: %s is %q after the child, was %q\n%s", how, name, after, before, out)
			os.WriteFile(Path(name), before, 0)
		}
	}
}
