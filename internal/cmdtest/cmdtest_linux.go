package cmdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// Ext4 makes an ext4 file system of size bytes in an image file and mounts
// it through a loop device on a new temporary directory, unmounted when
// the test ends, or skips the test where that cannot be done (not root,
// no mkfs.ext4, no loop device). ext4 is the file system that refuses
// RWF_NOWAIT for buffered writes, as tmpfs does not.
func Ext4(t testing.TB, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("a %d-byte ext4 is mounted only as root", size)
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skipf("no mkfs.ext4 here (%v): the case needs a small ext4", err)
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, int64(size)); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop ext4 here (%v: %s): the case needs a small ext4", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-d", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
