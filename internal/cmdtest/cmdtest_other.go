//go:build !linux

package cmdtest

import (
	"fmt"
	"os"
	"testing"
)

// setLimits refuses an RLIMIT_FSIZE, which only the Linux tests set.
func setLimits() {
	if os.Getenv(fsizeEnv) != "" {
		fmt.Fprintln(os.Stderr, "cmdtest: RLIMIT_FSIZE is set only on Linux")
		os.Exit(2)
	}
}

// Tmpfs skips the test: mounting a tmpfs is Linux's.
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	t.Skipf("a %d-byte tmpfs is mounted only on Linux", size)
	return ""
}

// Ext4 skips the test: mounting an ext4 is Linux's.
func Ext4(t testing.TB, size int) string {
	t.Helper()
	t.Skipf("a %d-byte ext4 is mounted only on Linux", size)
	return ""
}
