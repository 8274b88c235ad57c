package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain runs main instead of the tests when the test binary is started
// as the command (by aioStress below): the tests see the real exit codes
// and streams without building another binary.
func TestMain(m *testing.M) {
	if os.Getenv("AIO_STRESS_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
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
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "AIO_STRESS_RUN_MAIN=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
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
