//go:build linux

package fsx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/cmdtest"
	"golang.org/x/sys/unix"
)

// TestMain runs the fsx command instead of the tests when the test binary
// is started as a child by fsxChild, with the limits a shell's ulimit
// would have set before it ran.
func TestMain(m *testing.M) {
	cmdtest.Main(func() { Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) })
	os.Exit(m.Run())
}

// fsxChild runs fsx as a child process in dir, with RLIMIT_FSIZE fsize
// bytes (0: none).
func fsxChild(t *testing.T, dir string, fsize uint64, args ...string) cmdtest.Result {
	t.Helper()
	return cmdtest.Run(t, cmdtest.Options{Dir: dir, FSize: fsize}, args...)
}

// noGoCrash fails if the output has the marks of a Go crash.
func noGoCrash(t *testing.T, r cmdtest.Result) {
	t.Helper()
	for _, mark := range []string{"panic:", "fatal error:", "goroutine ", "runtime error", "[signal "} {
		if strings.Contains(r.Stdout, mark) || strings.Contains(r.Stderr, mark) {
			t.Fatalf("a Go crash (%q):\nstdout:\n%s\nstderr:\n%s", mark, r.Stdout, r.Stderr)
		}
	}
}

func writeOps(t *testing.T, dir, ops string) string {
	t.Helper()
	p := filepath.Join(dir, "t.ops")
	if err := os.WriteFile(p, []byte(ops), 0o666); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFileSizeLimit: under ulimit -f 128 (128 KiB), a write, truncate,
// mapped write or fallocate past the limit raises SIGXFSZ, and the C fsx's
// handler ends the run before the call returns: "signal 25", "testcalls
// = N", exit 25, nothing about the failed call. So must this one, on the
// plain path and through kaio.
func TestFileSizeLimit(t *testing.T) {
	const limit = 128 << 10
	engines := []string{""}
	for _, e := range usableEngines() {
		if e.String() != "uring" { // io_uring's workers raise no SIGXFSZ, as for the C fsx's -U
			engines = append(engines, "--engine="+e.String())
		}
	}
	for _, tc := range []struct {
		name, ops string
		calls     int
	}{
		{"write", "write 0x30000 0x1000 0x0\n", 1},
		{"write across", "write 0x1f000 0x2000 0x0\n", 1}, // short at the limit
		{"truncate", "truncate 0x0 0x30000 0x0\n", 1},
		{"mapwrite", "write 0x0 0x1000 0x0\nmapwrite 0x30000 0x1000 0x1000\n", 2},
		{"fallocate", "fallocate 0x30000 0x1000 0x0\n", 1},
	} {
		for _, eng := range engines {
			if eng != "" && !strings.HasPrefix(tc.name, "write") {
				continue // only reads and writes go through kaio
			}
			t.Run(tc.name+eng, func(t *testing.T) {
				dir := t.TempDir()
				args := []string{"--replay-ops=" + writeOps(t, dir, tc.ops)}
				if eng != "" {
					args = append(args, eng)
				}
				r := fsxChild(t, dir, limit, append(args, "f")...)
				noGoCrash(t, r)
				want := fmt.Sprintf("signal 25\ntestcalls = %d\n", tc.calls)
				if tc.name == "write across" && eng == "" {
					// The first write stops short at the limit, without a
					// signal: the C tool reports a short write, 151. (The
					// kaio path continues a short transfer, as the C
					// tool's -U does, and that write raises SIGXFSZ.)
					if r.Code != 151 || !strings.Contains(r.Stdout, "short write: 0x1000 bytes instead of 0x2000\n") {
						t.Fatalf("exit %d (signal %v)\nstdout:\n%s\nstderr:\n%s", r.Code, r.Signal, r.Stdout, r.Stderr)
					}
					return
				}
				if r.Code != 25 || !strings.HasSuffix(r.Stdout, want) || strings.Contains(r.Stdout, "File too large") {
					t.Fatalf("exit %d (signal %v), want 25 and %q at the end\nstdout:\n%s\nstderr:\n%s", r.Code, r.Signal, want, r.Stdout, r.Stderr)
				}
			})
		}
	}
}

// fullTmpfs mounts a tmpfs of size bytes on a new temporary directory and
// fills it, or skips when mounting is not permitted here.
func fullTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := cmdtest.Tmpfs(t, size)
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer fill.Close()
	page := make([]byte, 4096)
	for {
		if _, err := fill.Write(page); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	return dir
}

// TestFullFileSystem: a mapped write (or read) of a page a full tmpfs
// cannot provide kills the C fsx with SIGBUS (the shell shows 135). The
// Go runtime would print "fatal error: fault" and a goroutine dump; this
// fsx prints one line naming the operation and the offset, and dies of
// SIGBUS too. Random runs on the full file system end as the C tool's do:
// 151 (a write), 161 (fallocate) or SIGBUS, never a Go crash.
func TestFullFileSystem(t *testing.T) {
	full := fullTmpfs(t, 128<<10)
	logs := t.TempDir() // .fsxgood and .fsxlog, where there is space
	for _, tc := range []struct {
		name, ops, line string
		calls           int
	}{
		{"mapwrite", "mapwrite 0x0 0x2000 0x0\n", "domapwrite: bus error (SIGBUS) on the mapped page at file offset 0x0:", 1},
		{"mapread", "truncate 0x0 0x2000 0x0\nmapread 0x1000 0x800 0x2000\n", "domapread: bus error (SIGBUS) on the mapped page at file offset 0x1000:", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(full, "f"))
			r := fsxChild(t, logs, 0, "-P", logs, "--replay-ops="+writeOps(t, logs, tc.ops), filepath.Join(full, "f"))
			noGoCrash(t, r)
			want := fmt.Sprintf("%s the file system could not provide it (out of space?)\ntestcalls = %d\n", tc.line, tc.calls)
			if r.Signal != unix.SIGBUS || !strings.HasSuffix(r.Stdout, want) {
				t.Fatalf("exit %d, signal %v; want death by SIGBUS after %q\nstdout:\n%s\nstderr:\n%s", r.Code, r.Signal, want, r.Stdout, r.Stderr)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		seeds := 8
		if testing.Short() {
			seeds = 3
		}
		for seed := 1; seed <= seeds; seed++ {
			os.Remove(filepath.Join(full, "f"))
			r := fsxChild(t, logs, 0, "-q", "-P", logs, "-N", "200", "-S", strconv.Itoa(seed), filepath.Join(full, "f"))
			noGoCrash(t, r)
			if r.Signal != unix.SIGBUS && r.Code != 151 && r.Code != 161 {
				t.Errorf("seed %d: exit %d, signal %v\nstdout:\n%s\nstderr:\n%s", seed, r.Code, r.Signal, r.Stdout, r.Stderr)
			}
		}
	})
}
