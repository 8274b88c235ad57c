package native

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbeReasons plays kernels that refuse io_setup and checks that Probe
// names the cause.
func TestProbeReasons(t *testing.T) {
	saved, savedDir := probeSetup, sysctlDir
	defer func() { probeSetup, sysctlDir = saved, savedDir }()
	sysctlDir = t.TempDir() + "/"
	os.WriteFile(filepath.Join(sysctlDir, "aio-nr"), []byte("65536\n"), 0o600)
	os.WriteFile(filepath.Join(sysctlDir, "aio-max-nr"), []byte("65536\n"), 0o600)
	for _, tc := range []struct {
		errno unix.Errno
		want  string
	}{
		{unix.ENOSYS, "CONFIG_AIO"},
		{unix.EPERM, "seccomp"},
		{unix.EAGAIN, "fs.aio-nr 65536 of fs.aio-max-nr 65536"},
		{unix.ENOMEM, "memory"},
		{unix.EINVAL, "io_setup failed"},
	} {
		probeSetup = func(int) (aioContext, *ringHeader, error) { return 0, nil, tc.errno }
		st := Probe()
		if st.Usable || !errors.Is(st.Err, tc.errno) || !strings.Contains(st.Reason, tc.want) {
			t.Errorf("io_setup %v: %+v; want a reason with %q", tc.errno, st, tc.want)
		}
	}
}
