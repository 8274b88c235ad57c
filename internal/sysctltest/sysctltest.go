//go:build linux

// Package sysctltest lets a test set a machine-wide sysctl for its own
// duration (kernel.io_uring_disabled=2, say) and puts it back afterwards,
// even when the test fails or the run is interrupted.
//
// Such a setting is seen by every process on the machine: other tests,
// other packages that `go test ./...` runs in parallel, other users of
// io_uring. So these tests run only when asked, with
// KAIO_SYSCTL_TESTS=1, alone (-p 1, nothing else running), as .ci/run's
// step for them does, and as root; they skip otherwise, with the reason.
package sysctltest

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Env is the environment variable that allows machine-wide tests.
const Env = "KAIO_SYSCTL_TESTS"

// Gate skips t unless machine-wide tests are allowed here.
func Gate(t testing.TB) {
	t.Helper()
	if os.Getenv(Env) != "1" {
		t.Skipf("changes a machine-wide setting that other tests and processes see: runs only with %s=1, alone (go test -p 1 -run ...)", Env)
	}
	if os.Geteuid() != 0 {
		t.Skipf("needs root to write sysctls (euid %d)", os.Geteuid())
	}
}

// Path is the /proc/sys file of a dotted sysctl name.
func Path(name string) string { return "/proc/sys/" + strings.ReplaceAll(name, ".", "/") }

// Set sets sysctl name to value until t ends, after Gate; it skips t when
// the kernel has no such sysctl. The old value comes back when t's
// cleanups run (a failed or panicking test too), when the returned
// function is called (for a defer in the test), or on SIGINT, SIGTERM or
// SIGHUP, whichever comes first; the others then do nothing.
func Set(t testing.TB, name, value string) (restore func()) {
	t.Helper()
	Gate(t)
	path := Path(name)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the kernel has no sysctl %s: %v", name, err)
	}
	oldVal := strings.TrimSpace(string(old))
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	var once sync.Once
	restore = func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			if err := os.WriteFile(path, []byte(oldVal+"\n"), 0); err != nil {
				fmt.Fprintf(os.Stderr, "sysctltest: could not restore %s=%s: %v\n", name, oldVal, err)
				t.Errorf("restoring %s=%s: %v", name, oldVal, err)
				return
			}
			t.Logf("restored %s=%s", name, oldVal)
		})
	}
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case s := <-sigs:
			// Put the machine back before dying of the signal.
			os.WriteFile(path, []byte(oldVal+"\n"), 0)
			fmt.Fprintf(os.Stderr, "sysctltest: %v: restored %s=%s\n", s, name, oldVal)
			os.Exit(2)
		case <-done:
		}
	}()
	t.Cleanup(restore)
	if err := os.WriteFile(path, []byte(value+"\n"), 0); err != nil {
		restore()
		t.Fatalf("setting %s=%s: %v", name, value, err)
	}
	t.Logf("set %s=%s (was %s) for this test", name, value, oldVal)
	return restore
}
