package dockerseccomp

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
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
	if ok, why := Supported(); !ok {
		t.Skip(why)
	}
	args := []string{"-test.run=" + run, "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.Deadline(); ok {
		// Leave the parent a moment to report a child that timed out.
		args = append(args, "-test.timeout="+(time.Until(d)*9/10).Round(time.Second).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), EnvPolicy+"="+policy), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s inside seccomp policy %q: %v\n%s", run, policy, err, out)
	}
	if strings.Contains(string(out), "testing: warning: no tests to run") {
		t.Fatalf("%s inside seccomp policy %q ran no test:\n%s", run, policy, out)
	}
	return string(out)
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
// output: the line after its "--- SKIP" line.
func SkipReason(out, name string) string {
	re := regexp.MustCompile(`(?m)^--- SKIP: ` + regexp.QuoteMeta(name) + ` \([^)]*\)\n\s+\S+:\d+: (.*)$`)
	if m := re.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
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
		t.Log(fmt.Sprintf("child output:\n%s", out))
	}
}
