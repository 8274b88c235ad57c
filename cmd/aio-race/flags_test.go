//go:build linux

package main

import (
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
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

// TestHelp: -h shows no sentinel default for -preemptions, and what -svg
// takes.
func TestHelp(t *testing.T) {
	r := cmdtest.Run(t, cmdtest.Options{}, "-h")
	if r.Code != 0 || !strings.Contains(r.Stderr, "-preemptions int") || strings.Contains(r.Stderr, "(default -") || !strings.Contains(r.Stderr, "-svg FILE") {
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
	fs.String("svg", "", "")
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
	// -svg's check creates and removes a file it names: here, not in
	// the package's directory.
	f.Chdir(f.TempDir())
	f.Add("-max-schedules -1")
	f.Add("-svg x.svg -v")
	f.Add("-svg= -v")
	f.Add("-preemptions -7 stray")
	f.Add("-preemptions=3 -v -protocol rc3 -scenario all")
	f.Add("-- -x")
	f.Fuzz(func(t *testing.T, line string) {
		fs := newFlagSet()
		if fs.Parse(strings.Fields(line)) != nil {
			return
		}
		svg := fs.Lookup("svg").Value.String()
		_, err := os.Stat(svg)
		existed := err == nil
		if checkFlags(fs) != nil {
			return
		}
		p, _ := intFlag(fs, "preemptions")
		m, _ := intFlag(fs, "max-schedules")
		if p < -1 || m < 0 || fs.NArg() != 0 || isSet(fs, "svg") && svg == "" {
			t.Fatalf("%q passed: -preemptions %d -max-schedules %d -svg %q, args %q", line, p, m, svg, fs.Args())
		}
		if svg != "" && !existed {
			if _, err := os.Stat(svg); err == nil {
				t.Fatalf("%q: the check of -svg left %s behind", line, svg)
			}
		}
	})
}

// TestSVG: -svg FILE draws rc3's shortest failing schedules, one panel per
// kind of the report, as an SVG document; a run with no failure writes
// nothing; a path that cannot be written is refused before the search,
// one line naming the flag, exit 2, and the check leaves nothing behind.
func TestSVG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "race.svg")
	r := cmdtest.Run(t, cmdtest.Options{}, "-protocol", "rc3", "-scenario", "complete", "-svg", path)
	if r.Code != 1 || !strings.Contains(r.Stdout, "these schedules are drawn in "+path+"\n") {
		t.Fatalf("rc3 -svg: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	m := regexp.MustCompile(`(?m)^complete .*FAILED in \d+: (.*)$`).FindStringSubmatch(r.Stdout)
	if m == nil {
		t.Fatalf("no failure line:\n%s", r.Stdout)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The panels' titles are the kinds, in the report's order.
	var doc struct {
		XMLName xml.Name
		Panels  []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var kinds []string
	for _, p := range doc.Panels {
		if p.Class == "panel" {
			kinds = append(kinds, p.Title)
		}
	}
	if doc.XMLName.Local != "svg" || strings.Join(kinds, ", ") != m[1] {
		t.Errorf("%s: <%s> with panels %q; the report found %s", path, doc.XMLName.Local, kinds, m[1])
	}

	quiet := filepath.Join(dir, "kaio.svg")
	r = cmdtest.Run(t, cmdtest.Options{}, "-protocol", "kaio", "-scenario", "complete", "-svg", quiet)
	if r.Code != 0 || !strings.Contains(r.Stdout, "nothing to draw: "+quiet+" not written\n") {
		t.Errorf("kaio -svg: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(quiet); !os.IsNotExist(err) {
		t.Errorf("kaio passed, yet %s: %v", quiet, err)
	}
	// An existing file is kept as it was when nothing fails.
	if err := os.WriteFile(quiet, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	r = cmdtest.Run(t, cmdtest.Options{}, "-protocol", "kaio", "-scenario", "complete", "-svg", quiet)
	if b, _ := os.ReadFile(quiet); r.Code != 0 || string(b) != "old" {
		t.Errorf("kaio -svg over an existing file: exit %d, file %q", r.Code, b)
	}

	missing := filepath.Join(dir, "no-such-dir", "x.svg")
	notDir := filepath.Join(quiet, "x.svg")
	for _, tc := range []struct {
		path, want string
	}{
		{"", `aio-race: -svg "": want a file name` + "\n"},
		{missing, `aio-race: -svg "` + missing + `": no such file or directory` + "\n"},
		{dir, `aio-race: -svg "` + dir + `": not a regular file` + "\n"},
		{notDir, `aio-race: -svg "` + notDir + `": not a directory` + "\n"},
	} {
		r := cmdtest.Run(t, cmdtest.Options{}, "-protocol", "rc3", "-svg", tc.path)
		if r.Code != 2 || r.Stdout != "" || r.Stderr != tc.want {
			t.Errorf("-svg %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.path, r.Code, r.Stdout, r.Stderr, tc.want)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "kaio.svg race.svg" {
		t.Errorf("%s holds %q, want only kaio.svg and race.svg", dir, names)
	}
}

// TestKernelBefore: -protocol kernel-before finds the 9fadd19 bookkeeping's
// lost event and Destroy hang, prints their schedules in the kernel | user
// columns and exits 1; kaio passes the same scenarios; a kernel scenario
// under a kick-path protocol is refused, naming the protocols that run it.
func TestKernelBefore(t *testing.T) {
	for _, tc := range []struct {
		scenario, title string
	}{
		{"k-cancelsubmit", "lost event: an accepted request never ends"},
		{"k-destroymiss", "Destroy hangs: it waits for a completion the kernel does not owe"},
	} {
		r := cmdtest.Run(t, cmdtest.Options{}, "-protocol", "kernel-before", "-scenario", tc.scenario)
		if r.Code != 1 || !strings.Contains(r.Stdout, tc.title) || !strings.Contains(r.Stdout, "kernel (completions, cancel answers)") {
			t.Errorf("kernel-before %s: exit %d\n%s%s", tc.scenario, r.Code, r.Stdout, r.Stderr)
		}
		r = cmdtest.Run(t, cmdtest.Options{}, "-protocol", "kaio", "-scenario", tc.scenario)
		if r.Code != 0 || !strings.Contains(r.Stdout, "uring/"+tc.scenario) || !strings.Contains(r.Stdout, "native/"+tc.scenario) {
			t.Errorf("kaio %s: exit %d\n%s%s", tc.scenario, r.Code, r.Stdout, r.Stderr)
		}
	}
	r := cmdtest.Run(t, cmdtest.Options{}, "-protocol", "rc3", "-scenario", "k-two")
	want := `aio-race: scenario "k-two" explores the kernel engines' bookkeeping (-protocol kaio or kernel-before)` + "\n"
	if r.Code != 2 || r.Stderr != want {
		t.Errorf("rc3 k-two: exit %d, stderr %q, want 2 and %q", r.Code, r.Stderr, want)
	}
	r = cmdtest.Run(t, cmdtest.Options{}, "-protocol", "kernel-before", "-scenario", "rewait")
	if want := `aio-race: scenario "rewait" explores the kick path (-protocol rc3, kaio or 2.6.14)` + "\n"; r.Code != 2 || r.Stderr != want {
		t.Errorf("kernel-before rewait: exit %d, stderr %q", r.Code, r.Stderr)
	}
}
