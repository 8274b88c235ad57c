package uring

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbeReasons plays kernels that refuse io_uring_setup and checks that
// Probe names the cause.
func TestProbeReasons(t *testing.T) {
	saved, savedPath := probeSetup, disabledPath
	defer func() { probeSetup, disabledPath = saved, savedPath }()
	dir := t.TempDir()
	for _, tc := range []struct {
		errno  unix.Errno
		sysctl string // io_uring_disabled, "" for none
		want   string
	}{
		{unix.ENOSYS, "", "no io_uring"},
		{unix.EPERM, "0", "seccomp"},
		{unix.EPERM, "", "seccomp"},
		{unix.EPERM, "2", "io_uring_disabled=2"},
		{unix.EPERM, "1", "io_uring_group"},
		{unix.ENOMEM, "0", "RLIMIT_MEMLOCK"},
		{unix.EINVAL, "0", "io_uring_setup failed"},
	} {
		probeSetup = func(uint32, *params) (int, error) { return -1, tc.errno }
		disabledPath = filepath.Join(dir, "none")
		if tc.sysctl != "" {
			disabledPath = filepath.Join(dir, "io_uring_disabled")
			os.WriteFile(disabledPath, []byte(tc.sysctl+"\n"), 0o600)
		}
		st := Probe()
		if st.Usable || !errors.Is(st.Err, tc.errno) || !strings.Contains(st.Reason, tc.want) {
			t.Errorf("setup %v, sysctl %q: %+v; want a reason with %q", tc.errno, tc.sysctl, st, tc.want)
		}
	}
}
