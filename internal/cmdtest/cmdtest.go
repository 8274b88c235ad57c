// Package cmdtest runs a command as a child process of its own test binary,
// so that tests see its real exit status, signal, streams and limits
// without building another binary: TestMain calls Main, which runs the
// command instead of the tests when the binary was started by Run.
//
// It is for tests only; it lives outside _test files so that the tests of
// several commands can share it.
package cmdtest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// OpenFds counts this process's open fds (the entries of /proc/self/fd),
// for tests that check that nothing leaks one; it skips t where there is
// no /proc.
func OpenFds(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// childEnv marks the test binary started as the command; fsizeEnv carries
// the RLIMIT_FSIZE to set first.
const (
	childEnv = "KAIO_CMDTEST_CHILD"
	fsizeEnv = "KAIO_CMDTEST_FSIZE"
)

// Main runs command (which exits, or returns for exit 0) instead of the
// tests when this binary was started by Run. It sets the limits Run was
// given first, as a shell's ulimit does before it runs a command, and
// turns core dumps off (a command that dies of a signal would dump core).
// Call it first in TestMain.
func Main(command func()) {
	if os.Getenv(childEnv) != "1" {
		return
	}
	setLimits()
	command()
	os.Exit(0)
}

// Result is how the child ended.
type Result struct {
	Code           int            // exit status; -1 when a signal killed it
	Signal         syscall.Signal // the signal that killed it, or 0
	Stdout, Stderr string
}

// Options are the child's limits and environment.
type Options struct {
	Dir   string   // working directory ("": the test's)
	FSize uint64   // RLIMIT_FSIZE in bytes (0: unchanged)
	Env   []string // added to the environment
}

// Run runs the command with args as a child process and waits for it.
func Run(t testing.TB, o Options, args ...string) Result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = o.Dir
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), o.Env...)
	if o.FSize > 0 {
		cmd.Env = append(cmd.Env, fsizeEnv+"="+strconv.FormatUint(o.FSize, 10))
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal()
		}
	case errors.Is(err, syscall.ENOEXEC):
		// A test binary of another architecture run by an emulator (go
		// test -exec qemu-aarch64-static) cannot exec itself unless the
		// emulator is registered with binfmt_misc.
		t.Skipf("the test binary cannot run itself as a child here (%v): an emulator without binfmt_misc?", err)
	default:
		t.Fatal(err)
	}
	return r
}
