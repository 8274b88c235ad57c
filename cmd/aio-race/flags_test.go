package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/kaio-go/kaio/internal/cmdtest"
)

// TestMain runs main instead of the tests when cmdtest.Run starts the test
// binary as the command: the tests see its real flags, exit codes and
// streams.
func TestMain(m *testing.M) {
	cmdtest.Main(main)
	os.Exit(m.Run())
}

// TestBadFlags: values the flags cannot mean and stray arguments are one
// line naming the flag or the argument, exit 2, before anything runs.
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-max-schedules", "-1"}, "aio-race: -max-schedules -1: want 0 (no bound) or a number of schedules >= 1\n"},
		{[]string{"-preemptions", "-7"}, "aio-race: -preemptions -7: want -1 (no bound) or a bound >= 0\n"},
		{[]string{"-preemptions=-2"}, "aio-race: -preemptions -2: want -1 (no bound) or a bound >= 0\n"},
		{[]string{"stray"}, `aio-race: unexpected argument "stray": aio-race takes flags only (-h lists them)` + "\n"},
		{[]string{"-protocol", "kaio", "all"}, `aio-race: unexpected argument "all": aio-race takes flags only (-h lists them)` + "\n"},
		{[]string{"-v", "--", "-x"}, `aio-race: unexpected argument "-x": aio-race takes flags only (-h lists them)` + "\n"},
	} {
		r := cmdtest.Run(t, cmdtest.Options{}, tc.args...)
		if r.Code != 2 || r.Stdout != "" || r.Stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, r.Code, r.Stdout, r.Stderr, tc.want)
		}
	}
}

// TestHelp: -h shows no sentinel default for -preemptions.
func TestHelp(t *testing.T) {
	r := cmdtest.Run(t, cmdtest.Options{}, "-h")
	if r.Code != 0 || !strings.Contains(r.Stderr, "-preemptions int") || strings.Contains(r.Stderr, "(default -") {
		t.Fatalf("-h: exit %d, usage:\n%s", r.Code, r.Stderr)
	}
}

// TestGoodFlags: the bounds' own values still run.
func TestGoodFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-protocol", "kaio", "-preemptions", "-1", "-max-schedules", "1"},
		{"-protocol", "kaio", "-preemptions", "0", "-max-schedules", "1"},
	} {
		if r := cmdtest.Run(t, cmdtest.Options{}, args...); r.Code != 0 {
			t.Errorf("%q: exit %d\n%s", args, r.Code, r.Stderr)
		}
	}
}

// newFlagSet has the flags checkFlags looks at, as main defines them.
func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("aio-race", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("protocol", "kaio", "")
	fs.String("scenario", "all", "")
	fs.Bool("v", false, "")
	fs.Int("preemptions", 0, "")
	fs.Int("max-schedules", 0, "")
	return fs
}

func TestIsSet(t *testing.T) {
	fs := newFlagSet()
	if err := fs.Parse([]string{"-preemptions", "0"}); err != nil {
		t.Fatal(err)
	}
	if !isSet(fs, "preemptions") || isSet(fs, "max-schedules") {
		t.Fatal("isSet: -preemptions 0 is set, -max-schedules is not")
	}
}

// FuzzFlags: no command line makes the checks panic, and what they let
// through is in range.
func FuzzFlags(f *testing.F) {
	f.Add("-max-schedules -1")
	f.Add("-preemptions -7 stray")
	f.Add("-preemptions=3 -v -protocol rc3 -scenario all")
	f.Add("-- -x")
	f.Fuzz(func(t *testing.T, line string) {
		fs := newFlagSet()
		if fs.Parse(strings.Fields(line)) != nil {
			return
		}
		if checkFlags(fs) != nil {
			return
		}
		p, _ := intFlag(fs, "preemptions")
		m, _ := intFlag(fs, "max-schedules")
		if p < -1 || m < 0 || fs.NArg() != 0 {
			t.Fatalf("%q passed: -preemptions %d -max-schedules %d, args %q", line, p, m, fs.Args())
		}
	})
}
