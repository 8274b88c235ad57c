package cmdtest

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// setLimits sets the RLIMIT_FSIZE that Run was given, and RLIMIT_CORE 0.
func setLimits() {
	if s := os.Getenv(fsizeEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			err = unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: n, Max: n})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cmdtest: RLIMIT_FSIZE:", err)
			os.Exit(2)
		}
	}
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}

// Tmpfs mounts a tmpfs of size bytes on a new temporary directory,
// unmounted when the test ends, or skips the test where mounting is not
// permitted (not root, no CAP_SYS_ADMIN).
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs here (%v): the case needs a small file system", size, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
