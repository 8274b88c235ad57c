package dockerseccomp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RunTests runs the tests of the current test binary that match run (a
// -test.run pattern) in a child process of it that installs policy before
// anything else (see EnvPolicy), with env added to its environment, and
// returns the child's -test.v output. t fails, with that output, when the
// child fails or runs no test; t skips when this kernel cannot filter.
func RunTests(t *testing.T, policy, run string, env ...string) string {
	t.Helper()
	return Child{Policy: policy, Run: run, Env: env}.Output(t)
}

// Child is a run of the current test binary's tests in a child process:
// a fresh process, where nothing has been probed or cached yet.
type Child struct {
	Policy string   // the seccomp policy it installs first (EnvPolicy); "" for none
	Run    string   // the -test.run pattern
	Env    []string // added to its environment
	// Cred runs it as another user (the parent must be root). The test
	// binary is copied first to a directory that user can read.
	Cred *syscall.Credential
}

// Output runs the child as RunTests does and returns its -test.v output.
func (c Child) Output(t *testing.T) string {
	t.Helper()
	if c.Policy != "" {
		if ok, why := Supported(); !ok {
			t.Skip(why)
		}
	}
	args := []string{"-test.run=" + c.Run, "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.Deadline(); ok {
		// Leave the parent a moment to report a child that timed out.
		args = append(args, "-test.timeout="+(time.Until(d)*9/10).Round(time.Second).String())
	}
	bin := os.Args[0]
	dir := ""
	if c.Cred != nil {
		bin, dir = copyBinary(t)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if c.Policy != "" {
		cmd.Env = append(cmd.Env, EnvPolicy+"="+c.Policy)
	}
	cmd.Env = append(cmd.Env, c.Env...)
	if c.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.Cred}
	}
	out, err := cmd.CombinedOutput()
	what := fmt.Sprintf("%s in a child (policy %q, env %q)", c.Run, c.Policy, c.Env)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	if strings.Contains(string(out), "testing: warning: no tests to run") {
		t.Fatalf("%s ran no test:\n%s", what, out)
	}
	return string(out)
}

// copyBinary copies the test binary into a new directory that any user
// can read and enter (go test's own build directory is private to its
// user), and returns the copy and the directory.
func copyBinary(t *testing.T) (bin, dir string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "kaio-child-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// Outcome is what a child's -test.v output says about the top-level test
// name: "PASS", "FAIL", "SKIP", or "" when it did not run.
func Outcome(out, name string) string {
	re := regexp.MustCompile(`(?m)^--- (PASS|FAIL|SKIP): ` + regexp.QuoteMeta(name) + ` \(`)
	if m := re.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// SkipReason is the message a skipped top-level test gave, from -test.v
// output, where it is streamed between the test's "=== RUN" and its
// "--- SKIP" lines.
func SkipReason(out, name string) string {
	q := regexp.QuoteMeta(name)
	re := regexp.MustCompile(`(?m)^=== RUN   ` + q + `\n\s+\S+:\d+: (.*)\n--- SKIP: ` + q + ` \(`)
	if m := re.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// Log is what a top-level test logged in -test.v output: the lines
// between its "=== RUN" line and its outcome, less those of subtests.
func Log(out, name string) []string {
	var lines []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "=== RUN   "+name:
			in = true
		case !in:
		case strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "=== "):
			return lines
		default:
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// Expect fails t unless each test in want had the outcome given for it in
// the child's output; it logs the child's summary lines either way.
func Expect(t *testing.T, out string, want map[string]string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "--- ") {
			t.Log("child: " + line)
		}
	}
	for name, w := range want {
		if got := Outcome(out, name); got != w {
			t.Errorf("child: %s: %q, want %q", name, got, w)
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}
