//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/cmdtest"
)

// TestMain runs main instead of the tests when the test binary is started
// as the command (by aioStress below): the tests see the real exit codes
// and streams without building another binary.
func TestMain(m *testing.M) {
	cmdtest.Main(main)
	os.Exit(m.Run())
}

func aioStress(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	return aioStressEnv(t, dir, nil, args...)
}

// aioStressEnv is aioStress with env added to the command's environment:
// with dockerseccomp.EnvPolicy there, the command installs that seccomp
// policy before main runs (restricted_linux_test.go imports
// dockerseccomp, whose init does it), so aio-stress itself runs inside it.
func aioStressEnv(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	r := cmdtest.Run(t, cmdtest.Options{Dir: dir, Env: env}, args...)
	return r.Code, r.Stdout, r.Stderr
}

func TestHelp(t *testing.T) {
	code, stdout, stderr := aioStress(t, t.TempDir(), "-h")
	if code != 1 || !strings.HasPrefix(stdout, "usage: aio-stress [-s size]") || stderr != "" {
		t.Fatalf("-h: exit %d, stdout %q, stderr %q (the classic: usage on stdout, exit 1)", code, stdout, stderr)
	}
	code, stdout, _ = aioStress(t, t.TempDir(), "--help")
	if code != 0 || !strings.Contains(stdout, "-E engine") {
		t.Fatalf("--help: exit %d, stdout %q", code, stdout)
	}
}

// TestBadInput: one line on stderr naming the problem, nothing on stdout,
// exit 1 (3 for an engine that cannot be set up), never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-z", "f"}, "unknown option -z"},
		{[]string{"--bogus", "f"}, "unknown option --bogus"},
		{[]string{"-s", "12x", "f"}, `bad size "12x" for -s`},
		{[]string{"-s", "-4", "f"}, `bad size "-4" for -s`},
		{[]string{"-r", "", "f"}, `bad size "" for -r`},
		{[]string{"-d", "0", "f"}, `bad number "0" for -d`},
		{[]string{"-t", "two", "f"}, `bad number "two" for -t`},
		{[]string{"-o", "4", "f"}, `bad stage "4" for -o`},
		{[]string{"-m", "huge", "f"}, `bad value "huge" for -m`},
		{[]string{"-E", "spdk", "f"}, `bad engine "spdk" for -E`},
		{[]string{"-s", "1", "-r", "2m", "f"}, "record size 2097152 bytes is larger than the file size 1048576 bytes"},
		{[]string{"-s", "1", "no/such/dir/f"}, "cannot open no/such/dir/f: no such file or directory"},
		{[]string{"-s", "1", "-r"}, "option -r needs an argument"},
		{[]string{"-s", "1"}, "no file given"},
	} {
		code, stdout, stderr := aioStress(t, dir, tc.args...)
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "aio-stress: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1, one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

func TestUnbuiltEngine(t *testing.T) {
	dir := t.TempDir()
	for _, e := range []string{"uring", "native"} {
		code, stdout, stderr := aioStress(t, dir, "-E", e, "-s", "1", "f")
		switch code {
		case 0:
			if !strings.Contains(stderr, "kaio engine "+e) {
				t.Errorf("-E %s ran, but on: %s", e, stderr)
			}
		case 3:
			if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "aio-stress: engine "+e+" unavailable: ") {
				t.Errorf("-E %s: stdout %q stderr %q", e, stdout, stderr)
			}
		default:
			t.Errorf("-E %s: exit %d\n%s", e, code, stderr)
		}
	}
}

// TestRun: a small run with grouped flags, an attached argument and the
// file before the options (glibc's getopt permutes), as scripts write them.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := aioStress(t, dir, "k.dat", "-s2", "-nv", "-r", "16k", "-u")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stdout != "Running single thread version \nCleaning up file k.dat \n" {
		t.Fatalf("stdout %q", stdout)
	}
	for _, want := range []string{
		"file size 2MB, record size 16KB, depth 64, ios per iteration 8\n",
		"threads 1 files 1 contexts 1 context offset 2MB verification on\n",
		"\nrandom read on k.dat (",
	} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("no %q in\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "k.dat")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("-u left the file: %v", err)
	}
}

// TestOutOfSpace: a run that cannot write its files (an 8 MiB tmpfs and
// -s 64m; ulimit -f) warns before it starts when it can tell, says so in
// one io err line per oper instead of one per record, reports what was
// done with no throughput for what was not, and exits 1 (the classic
// ignores failed writes: hundreds of "io err" lines, a throughput of
// 64 MB, exit 0). Each case runs the command as a child process.
func TestOutOfSpace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tmpfs bool   // the file on an 8 MiB tmpfs
		fsize uint64 // RLIMIT_FSIZE of the child
		args  []string
		lines []string // in order, each a whole line
	}{
		{"tmpfs", true, 0, []string{"-s", "64m", "{f}"}, []string{
			`aio-stress: warning: {f} needs 64.00 MB more for -s 64.00 MB, and its file system has 8.00 MB free: the writes past that will fail \(ENOSPC\)`,
			`file size 64MB, record size 64KB, depth 64, ios per iteration 8`,
			`io err -28 \(No space left on device\) op 1, off 8388608 size 65536`,
			`write on {f}: 896 of 1024 ios failed \(last -28, No space left on device\), 8.00 MB done in [0-9.]+s`,
			`thread 0 write totals: 896 ios failed, 8.00 MB done in [0-9.]+s`}},
		{"tmpfs-threads", true, 0, []string{"-s", "16m", "-t", "2", "-c", "2", "-C", "0", "-x", "-o", "0", "{f}"}, []string{
			`aio-stress: warning: {f} needs 16.00 MB more for -s 16.00 MB, and its file system has 8.00 MB free: the writes past that will fail \(ENOSPC\)`,
			`io err -28 \(No space left on device\) op 1, off [0-9]+ size 65536`,
			`write on {f}: [0-9]+ of 256 ios failed \(last -28, No space left on device\), [0-9.]+ MB done in [0-9.]+s`,
			`write on {f}: [0-9]+ of 256 ios failed \(last -28, No space left on device\), [0-9.]+ MB done in [0-9.]+s`,
			`write throughput: [0-9]+ ios failed, [0-9.]+ MB done in [0-9.]+s`}},
		{"ulimit-f", false, 1 << 20, []string{"-s", "4", "{f}"}, []string{
			`file size 4MB, record size 64KB, depth 64, ios per iteration 8`,
			// Any of the 48 writes past the limit may complete first:
			// on uring io-wq workers run them side by side.
			`io err -27 \(File too large\) op 1, off (1048576|1[1-9][0-9]{5}|[2-3][0-9]{6}|4[01][0-9]{5}) size 65536`,
			`write on {f}: 48 of 64 ios failed \(last -27, File too large\), 1.00 MB done in [0-9.]+s`,
			`thread 0 write totals: 48 ios failed, 1.00 MB done in [0-9.]+s`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.tmpfs {
				dir = cmdtest.Tmpfs(t, 8<<20)
			}
			f := filepath.Join(dir, "f")
			args := append([]string(nil), tc.args...)
			args[len(args)-1] = f
			r := cmdtest.Run(t, cmdtest.Options{Dir: dir, FSize: tc.fsize}, args...)
			code, stdout, stderr := r.Code, r.Stdout, r.Stderr
			if code != 1 || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Fatalf("exit %d, want 1\nstdout %q\nstderr:\n%s", code, stdout, stderr)
			}
			if n := strings.Count(stderr, "io err"); n < 1 || n > 4 {
				t.Errorf("%d io err lines, want one per oper:\n%s", n, stderr)
			}
			if regexp.MustCompile(`(?m)^(write on|thread \d+ write totals|write throughput) .*MB/s`).MatchString(stderr) {
				t.Errorf("a throughput for a stage whose writes failed:\n%s", stderr)
			}
			lines := strings.Split(stderr, "\n")
			i := 0
			for _, l := range tc.lines {
				re := regexp.MustCompile("^" + strings.ReplaceAll(l, "{f}", regexp.QuoteMeta(f)) + "$")
				for i < len(lines) && !re.MatchString(lines[i]) {
					i++
				}
				if i == len(lines) {
					t.Fatalf("no line %q (in order) in:\n%s", l, stderr)
				}
			}
		})
	}
}

// TestOutOfSpaceJSON: -json reports what was transferred, the failures,
// and no rates, for a stage whose writes failed.
func TestOutOfSpaceJSON(t *testing.T) {
	dir := cmdtest.Tmpfs(t, 8<<20)
	code, stdout, stderr := aioStress(t, dir, "-s", "64m", "-json", "-o", "0", filepath.Join(dir, "f"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	var r struct {
		IOs    int64   `json:"ios"`
		Bytes  int64   `json:"bytes"`
		Errors int     `json:"errors"`
		MBps   float64 `json:"mb_per_s"`
		IOPS   float64 `json:"iops"`
		IOMBps float64 `json:"io_mb_per_s"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if r.IOs != 1024 || r.Bytes != 8<<20 || r.Errors != 896 || r.MBps != 0 || r.IOPS != 0 || r.IOMBps != 0 {
		t.Fatalf("result %+v; want 1024 ios, 8 MiB, 896 errors, no rates", r)
	}
}
