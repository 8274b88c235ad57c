package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/dockerseccomp"
	"github.com/kaio-go/kaio/internal/sysctltest"
	"golang.org/x/sys/unix"
)

// directDir is a directory whose file system takes O_DIRECT, or a skip.
func directDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	fd, err := unix.Open(filepath.Join(dir, "probe"), unix.O_CREAT|unix.O_RDWR|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Skipf("O_DIRECT not supported on %s: %v", dir, err)
	}
	unix.Close(fd)
	return dir
}

// restrictedRun runs aio-stress on the default engine, with verification,
// buffered and O_DIRECT, every stage, where io_uring is refused (env), and
// checks that it chose retry and every stage ran and verified (the
// classic prints its results on stderr); then that
// -E uring exits 3 with a line naming why (want).
func restrictedRun(t *testing.T, env []string, want string) {
	dir := directDir(t)
	for _, direct := range [][]string{nil, {"-O"}} {
		args := append(append([]string{"-v", "-s", "16"}, direct...), "-u", "as.dat")
		code, stdout, stderr := aioStressEnv(t, dir, env, args...)
		if code != 0 || strings.Contains(stderr, "verify error") || !strings.Contains(stderr, "kaio engine retry") {
			t.Fatalf("aio-stress %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
		for _, stage := range []string{"write", "read", "random write", "random read"} {
			if !strings.Contains(stderr, "\n"+stage+" on as.dat (") {
				t.Errorf("aio-stress %q: no %s stage\n%s", args, stage, stderr)
			}
		}
	}
	code, stdout, stderr := aioStressEnv(t, dir, env, "-E", "uring", "-s", "1", "as.dat")
	if code != 3 || !strings.Contains(stdout+stderr, want) {
		t.Fatalf("aio-stress -E uring: exit %d, want 3 with %q\n%s%s", code, want, stdout, stderr)
	}
	t.Log(strings.TrimSpace(stdout + stderr))
}

// TestInsideDockerProfile: aio-stress inside Docker's default seccomp
// profile runs every stage, buffered and O_DIRECT, verified, on retry.
func TestInsideDockerProfile(t *testing.T) {
	if ok, why := dockerseccomp.Supported(); !ok {
		t.Skip(why)
	}
	restrictedRun(t, []string{dockerseccomp.EnvPolicy + "=docker"}, "refused by a seccomp filter")
}

// TestURingDisabledSysctl: the same with kernel.io_uring_disabled=2, a
// machine-wide setting (see internal/sysctltest).
func TestURingDisabledSysctl(t *testing.T) {
	defer sysctltest.Set(t, "kernel.io_uring_disabled", "2")()
	restrictedRun(t, nil, "kernel.io_uring_disabled=2")
}
