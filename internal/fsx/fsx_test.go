//go:build linux

package fsx

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// run parses args and runs fsx in dir (the C expectations name the file
// by a relative path), returning stdout, stderr and the exit code.
func run(t *testing.T, dir string, args []string, tweak func(*Config)) (string, string, int) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	cfg, code := ParseArgs(args, &out, &errb)
	if code < 0 {
		if tweak != nil {
			tweak(cfg)
		}
		code = Run(cfg, &out, &errb)
	}
	return out.String(), errb.String(), code
}

// needExt4 skips unless dir is on ext4 with 4 KiB blocks: the op stream
// depends on the block size and on which fallocate modes the file system
// has, and the expectations were recorded on ext4.
func needExt4(t *testing.T, dir string) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Skipf("statfs %s: %v", dir, err)
	}
	if st.Type != unix.EXT4_SUPER_MAGIC || st.Bsize != 4096 {
		t.Skipf("%s is not ext4 with 4 KiB blocks (type %#x, bsize %d): the recorded C op streams do not apply", dir, st.Type, st.Bsize)
	}
}

// usableEngines are the kaio engines Probe says work here.
func usableEngines() []kaio.Engine {
	var es []kaio.Engine
	for _, st := range kaio.Probe() {
		if st.Usable {
			es = append(es, st.Engine)
		}
	}
	return es
}

type cCase struct{ name, setup, args string }

func readCases(t *testing.T) []cCase {
	t.Helper()
	f, err := os.Open(filepath.Join(cdata, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs []cCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		p := strings.Split(line, "|")
		if len(p) != 3 {
			t.Fatalf("cases.txt: bad line %q", line)
		}
		cs = append(cs, cCase{strings.TrimSpace(p[0]), strings.TrimSpace(p[1]), strings.TrimSpace(p[2])})
	}
	return cs
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + i/251) % 256)
	}
	return b
}

// rerunLine is the one line the Go fsx adds to a failure report.
var rerunLine = regexp.MustCompile(`(?m)^Seed -?\d+; rerun the same operations with: .*\n`)

func fileSum(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// cdata is testdata/c as an absolute path: the tests chdir.
var cdata = func() string {
	d, err := filepath.Abs("testdata/c")
	if err != nil {
		panic(err)
	}
	return d
}()

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// firstDiff says where two outputs part, by line.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if wl[i] != gl[i] {
			return fmt.Sprintf("line %d:\n  C:  %q\n  Go: %q", i+1, wl[i], gl[i])
		}
	}
	return fmt.Sprintf("lengths differ: C %d lines, Go %d lines", len(wl), len(gl))
}

// TestCOpStream runs each recorded case and checks that the Go fsx prints
// what the C fsx printed (stdout, the -d lines and dumps; stderr, the probe
// messages), exits with its code, writes the same .fsxops (every
// operation, skipped ones included, with the file size at each), and
// leaves the same file and .fsxgood. Cases marked for it run again on each
// usable kaio engine (-A), which must change nothing.
func TestCOpStream(t *testing.T) {
	cases := readCases(t)
	testdata := cdata
	for _, c := range cases {
		variants := [][]string{nil}
		if c.name == "default" || !testing.Short() && (c.name == "direct" || c.name == "keepfails") {
			for _, e := range usableEngines() {
				variants = append(variants, []string{"-A", "--engine=" + e.String()})
			}
		}
		for _, extra := range variants {
			name := c.name
			if extra != nil {
				name += "/" + strings.TrimPrefix(extra[1], "--engine=")
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				needExt4(t, dir)
				switch {
				case strings.HasPrefix(c.setup, "pattern:"):
					n, _ := strconv.Atoi(strings.TrimPrefix(c.setup, "pattern:"))
					if err := os.WriteFile(filepath.Join(dir, "f"), pattern(n), 0o666); err != nil {
						t.Fatal(err)
					}
				case c.setup == "replay":
					data, err := os.ReadFile(filepath.Join(testdata, "default.ops"))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "in.ops"), data, 0o666); err != nil {
						t.Fatal(err)
					}
				}
				args := append(strings.Fields(c.args), extra...)
				args = append(args, "f")
				out, errs, code := run(t, dir, args, nil)
				wantErr := readTestdata(t, c.name+".err")
				if errs != wantErr {
					// The probes found a different file system (say, one
					// with atomic writes): a different stream is right.
					t.Skipf("probes differ from the recording:\nC:  %q\nGo: %q", wantErr, errs)
				}
				wantRC, _ := strconv.Atoi(strings.TrimSpace(readTestdata(t, c.name+".rc")))
				if code != wantRC {
					t.Errorf("exit code %d, C fsx %d", code, wantRC)
				}
				if wantRC != 0 && !rerunLine.MatchString(out) {
					t.Errorf("failure without the rerun line")
				}
				out = rerunLine.ReplaceAllString(out, "")
				if want := readTestdata(t, c.name+".out"); out != want {
					t.Errorf("stdout differs from the C fsx's at %s", firstDiff(want, out))
				}
				if wantOps, err := os.ReadFile(filepath.Join(testdata, c.name+".ops")); err == nil {
					gotOps, err := os.ReadFile(filepath.Join(dir, "f.fsxops"))
					if err != nil {
						t.Fatal(err)
					}
					if string(gotOps) != string(wantOps) {
						t.Errorf(".fsxops differs from the C fsx's at %s", firstDiff(string(wantOps), string(gotOps)))
					} else {
						t.Logf("%d operations match the C fsx", bytes.Count(wantOps, []byte("\n")))
					}
				}
				for _, line := range strings.Split(strings.TrimSpace(readTestdata(t, c.name+".sum")), "\n") {
					sum, file, _ := strings.Cut(line, " ")
					if got := fileSum(t, filepath.Join(dir, file)); got != sum {
						t.Errorf("%s: sha256 %s, C fsx left %s", file, got, sum)
					}
				}
			})
		}
	}
}

// TestCorruptionDetected overwrites the test file through another
// descriptor in the middle of a run, as a misbehaving file system would,
// and checks that fsx reports it as the C tool does: READ BAD DATA with the
// offset table, the LOG DUMP, exit 110, the .fsxgood/.fsxlog/.fsxops files,
// and the seed and command to run it again.
func TestCorruptionDetected(t *testing.T) {
	variants := [][]string{nil}
	for _, e := range usableEngines() {
		variants = append(variants, []string{"-A", "--engine=" + e.String()})
	}
	for _, extra := range variants {
		name := "plain"
		if extra != nil {
			name = extra[1][len("--engine="):]
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			logDir := filepath.Join(dir, "logs")
			if err := os.Mkdir(logDir, 0o777); err != nil {
				t.Fatal(err)
			}
			const at = 60
			corrupt := func(n int64) {
				if n != at {
					return
				}
				// Another descriptor: invert every byte of the file.
				g, err := os.OpenFile(filepath.Join(dir, "f"), os.O_RDWR, 0)
				if err != nil {
					t.Error(err)
					return
				}
				defer g.Close()
				data, err := os.ReadFile(g.Name())
				if err != nil {
					t.Error(err)
					return
				}
				for i := range data {
					data[i] ^= 0xff
				}
				if _, err := g.WriteAt(data, 0); err != nil {
					t.Error(err)
				}
			}
			args := append([]string{"-N", "1000", "-S", "3", "-P", logDir}, extra...)
			args = append(args, "f")
			out, _, code := run(t, dir, args, func(c *Config) { c.afterOp = corrupt })
			if code != 110 {
				t.Fatalf("exit code %d, want 110 (bad data); output:\n%s", code, out)
			}
			for _, want := range []string{
				"READ BAD DATA: offset = 0x",
				"OFFSET      GOOD    BAD     RANGE\n",
				"operation# (mod 256) for the bad data",
				"LOG DUMP (",
				"Log of operations saved to \"" + logDir + "/f.fsxops\"; replay with --replay-ops\n",
				"Correct content saved for comparison\n",
				"(maybe hexdump \"f\" vs \"" + logDir + "/f.fsxgood\")\n",
				"Seed 3; rerun the same operations with: fsx -N 1000 -S 3 -P " + logDir,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			rows := regexp.MustCompile(`(?m)^0x[0-9a-f]+ +0x[0-9a-f]{4}  0x[0-9a-f]{4}  0x[0-9a-f]+$`).FindAllString(out, -1)
			if len(rows) == 0 || len(rows) > 16 {
				t.Errorf("%d rows in the bad-offset table, want 1..16", len(rows))
			}
			m := regexp.MustCompile(`LOG DUMP \((\d+) total operations\)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatal("no LOG DUMP line")
			}
			nops, _ := strconv.Atoi(m[1])
			if nops <= at {
				t.Errorf("dump of %d operations: the corruption was after op %d", nops, at)
			}
			ops, err := os.ReadFile(filepath.Join(logDir, "f.fsxops"))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(ops, []byte("\n")); n != nops {
				t.Errorf(".fsxops has %d lines, want %d", n, nops)
			}
			if !bytes.Contains(ops, []byte(" *\n")) {
				t.Errorf(".fsxops marks no operation as overlapping the bad offset")
			}
			logData, err := os.ReadFile(filepath.Join(logDir, "f.fsxlog"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(logData, []byte("READ BAD DATA")) || !bytes.Contains(logData, []byte("LOG DUMP")) {
				t.Errorf(".fsxlog lacks the report")
			}
			good, err := os.ReadFile(filepath.Join(logDir, "f.fsxgood"))
			if err != nil {
				t.Fatal(err)
			}
			cur, err := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil {
				t.Fatal(err)
			}
			if len(good) == 0 || len(good) != len(cur) || bytes.Equal(good, cur) {
				t.Errorf(".fsxgood (%d bytes) should be the expected image of the corrupted file (%d bytes)", len(good), len(cur))
			}
		})
	}
}

// TestBadInput: bad command lines get one line on stderr naming the flag
// and the value, and the C tool's code; never a panic or a runtime error.
// The cases of issue 15 first: where the C fsx segfaults (-l -1, a huge
// -l, an empty -k file) or misreads (-Ebogus is -E -b ogus), the line says
// why.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	uringUsable := false
	for _, e := range usableEngines() {
		uringUsable = uringUsable || e == kaio.EngineURing
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a line wanted on stdout, if any
		stderr string // ... on stderr
	}{
		{[]string{"-l", "-1", "-N", "10", "f"}, 90, "", "fsx: -l -1: below 1, want a file length > 0"},
		{[]string{"-l", "100000000000000", "-N", "10", "f"}, 90, "", "fsx: -l 100000000000000 -o 65536: the file image and buffers need 200000000065538 bytes of memory, more than the "},
		{[]string{"-l", "99999999999999999999", "f"}, 90, "", "fsx: -l 99999999999999999999: out of range"},
		{[]string{"--duration=-5", "f"}, 88, "", "fsx: --duration=-5: below 1, want a number of seconds >= 1"},
		{[]string{"--duration=5s", "f"}, 88, "", `fsx: --duration=5s: "s" after the number`},
		{[]string{"--duration", "f"}, 87, "", "fsx: --duration needs its value attached: --duration=SECONDS"},
		{[]string{"--duration=0", "f"}, 88, "", "fsx: --duration=0: below 1"},
		{[]string{"-E", "bogus", "-N", "10", "f2"}, 90, "", `fsx: want exactly one file name, got 2: "bogus" "f2"`},
		{[]string{"-E", "retry", "f"}, 90, "", `fsx: want exactly one file name, got 2: "retry" "f"; -E takes no value (it means no copy_file_range calls): choose the kaio engine with --engine=NAME`},
		{[]string{"-Ebogus"}, 90, "", "fsx: -b ogus: not a number, want the number of the first operation, >= 1; -Ebogus is -E -b ogus, and -E takes no value: the kaio engine is --engine=NAME"},
		{[]string{"--engine=retyr", "f"}, 90, "", "fsx: --engine=retyr: unknown engine, want auto, retry, uring or native"},
		{[]string{"--engine", "f"}, 90, "", "fsx: --engine=f: unknown engine"},
		{[]string{"-o", "4294967296", "f"}, 90, "", "fsx: -o 4294967296: over 2147483647, want an op length > 0"},
		{[]string{"-N", "1o0", "f"}, 90, "", `fsx: -N 1o0: "o0" after the number, want a number of operations >= 0`},
		{[]string{"-N", "-1", "f"}, 90, "", "fsx: -N -1: below 0"},
		{[]string{"-S", "-3", "f"}, 90, "", "fsx: -S -3: below 0"},
		{[]string{"-S", "4294967297", "f"}, 90, "", "fsx: -S 4294967297: over 2147483647"},
		{[]string{"-r", "0", "f"}, 90, "", "fsx: -r 0: below 1, want a boundary > 0"},
		{[]string{"-w", "1x", "f"}, 90, "", `fsx: -w 1x: "x" after the number`},
		{[]string{"-c", "0", "f"}, 90, "", "fsx: -c 0: below 1"},
		{[]string{"-e", "2", "f"}, 90, "", "fsx: -e 2: over 1, want 0 or 1"},
		{[]string{"-s", "-1", "f"}, 90, "", "fsx: -s -1: below 0, want 0 or 1"},
		{[]string{"-p", "0", "f"}, 90, "", "fsx: -p 0: below 1"},
		{[]string{"-D", "0", "f"}, 90, "", "fsx: -D 0: below 1"},
		{[]string{"-b", "0", "f"}, 90, "", "fsx: -b 0: below 1"},
		{[]string{"-m", "5", "f"}, 90, "", "fsx: -m 5: want start:end"},
		{[]string{"-m", "1:-2", "f"}, 90, "", "fsx: -m 1:-2: want start:end"},
		{[]string{"-k", "-N", "100", "empty"}, 90, "", "fsx: -k: empty is empty"},
		{[]string{"-T", "f"}, 90, "", "fsx: invalid option -- 'T'"},
		{[]string{"--bogus", "f"}, 90, "", "fsx: unrecognized option '--bogus'"},
		{[]string{"-N"}, 90, "", "option requires an argument -- 'N'"},
		{[]string{}, 90, "", "want exactly one file name, got 0"},
		{[]string{"a", "b"}, 90, "", `want exactly one file name, got 2: "a" "b"`},
		{[]string{"-A", "-U", "f"}, 90, "", "fsx: -A and -U shouldn't be used together"},
		{[]string{"-i", "/dev/null", "f"}, 90, "", "fsx: option -i <logdev> requires -P <dirpath>"},
		{[]string{"nonexistent/dir/f"}, 91, "nonexistent/dir/f: No such file or directory", ""},
		{[]string{"-P", "nonexistent", "f"}, 92, "nonexistent/f.fsxgood: No such file or directory", ""},
		{[]string{"--replay-ops=nonexistent.ops", "f"}, 93, "nonexistent.ops: No such file or directory", ""},
		{[]string{"-L", "nofile"}, 91, "nofile: No such file or directory", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs, code := run(t, dir, tc.args, nil)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tc.code, out, errs)
			}
			if tc.stderr != "" && (!strings.Contains(errs, tc.stderr) || strings.Count(errs, "\n") != 1) {
				t.Errorf("stderr %q, want one line with %q", errs, tc.stderr)
			}
			if tc.stdout != "" && !strings.Contains(out, tc.stdout+"\n") {
				t.Errorf("stdout %q, want a line %q", out, tc.stdout)
			}
		})
	}
	t.Run("-E keeps its C meaning", func(t *testing.T) {
		// As in C: -E is "no copy_file_range" and "retyr" is the file.
		// The near miss of an engine name gets a warning, so that the
		// run is not silently other than meant.
		cfg, code := ParseArgs([]string{"-N", "10", "-E", "retyr"}, io.Discard, io.Discard)
		if code >= 0 || !cfg.NoCopyRange || cfg.AIO || cfg.File != "retyr" {
			t.Fatalf("exit %d, config %+v", code, cfg)
		}
		out, errs, code := run(t, dir, []string{"-N", "10", "-E", "retyr"}, nil)
		warning := `fsx: warning: -E retyr: -E takes no value (as in the C fsx it means no copy_file_range calls), so "retyr" is the file name; the kaio engine is chosen with --engine=NAME (auto, retry, uring or native)` + "\n"
		if code != 0 || !strings.Contains(out, "All 10 operations completed A-OK!") || !strings.HasPrefix(errs, warning) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		// No warning where nothing looks like an engine name.
		if _, errs, code := run(t, dir, []string{"-N", "10", "-E", "f"}, nil); code != 0 || strings.Contains(errs, "warning") {
			t.Errorf("-E f: exit %d, stderr %q", code, errs)
		}
		cfg, _ = ParseArgs([]string{"-N", "10", "--engine=retry", "f"}, io.Discard, io.Discard)
		if !cfg.AIO || cfg.Engine != kaio.EngineRetry || cfg.NoCopyRange {
			t.Errorf("--engine=retry: config %+v", cfg)
		}
	})
	t.Run("uring unavailable", func(t *testing.T) {
		if uringUsable {
			t.Skip("the uring engine works here")
		}
		_, errs, code := run(t, dir, []string{"-U", "-N", "1", "f"}, nil)
		if code != 111 || !strings.Contains(errs, "fsx: -A: kaio engine uring: not usable here") {
			t.Errorf("exit %d, stderr %q; want 111 and the reason", code, errs)
		}
	})
	t.Run("replay parse error", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "bad.ops"), []byte("write 0x0 0x10 0x0\nfrobnicate 1 2 3\n"), 0o666); err != nil {
			t.Fatal(err)
		}
		_, errs, code := run(t, dir, []string{"--replay-ops=bad.ops", "f"}, nil)
		if code != 100 || !strings.HasSuffix(errs, "\nbad.ops: parse error\n") {
			t.Errorf("exit %d, stderr %q; want 100 and a parse error", code, errs)
		}
	})
}

// TestEngines runs fsx on every usable engine, buffered and O_DIRECT,
// failing on any miscompare. FSX_OPS sets the number of operations (CI
// runs 20000; the default keeps go test fast).
func TestEngines(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 100
	}
	if s := os.Getenv("FSX_OPS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, e := range usableEngines() {
		for _, mode := range []struct {
			name  string
			flags []string
		}{
			{"buffered", nil},
			{"direct", []string{"-Z", "-R", "-W", "-r", "4096", "-w", "4096", "-t", "4096"}},
		} {
			t.Run(e.String()+"/"+mode.name, func(t *testing.T) {
				dir := t.TempDir()
				args := append([]string{"-q", "-N", strconv.Itoa(n), "-S", "5", "-A", "--engine=" + e.String()}, mode.flags...)
				args = append(args, "f")
				out, errs, code := run(t, dir, args, nil)
				if code != 0 || !strings.Contains(out, fmt.Sprintf("All %d operations completed A-OK!", n)) {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
				}
			})
		}
	}
}

// TestSignal: a signal ends the run as the C tool's handler does, with
// "signal N" and "testcalls = N", and exits with the signal's number.
func TestSignal(t *testing.T) {
	dir := t.TempDir()
	out, _, code := run(t, dir, []string{"-q", "-N", "1000", "f"}, func(c *Config) {
		c.afterOp = func(n int64) {
			if n == 10 {
				unix.Kill(os.Getpid(), unix.SIGUSR1)
			}
		}
	})
	if code != int(unix.SIGUSR1) || !strings.Contains(out, fmt.Sprintf("signal %d\ntestcalls = ", unix.SIGUSR1)) {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// TestCSimulatedStreams pins long op streams cheaply: -b simulates every
// operation (all the draws and the bookkeeping, no I/O), and --record-ops
// dumps the last 10000 of them, so equal sha256 of stdout and .fsxops with
// the C fsx's means tens of thousands of equal draws and operations.
func TestCSimulatedStreams(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long simulated streams: not with -short or -race")
	}
	data := readTestdata(t, "simulated-sums.txt")
	for _, line := range strings.Split(data, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		p := strings.Split(line, "|")
		if len(p) != 4 {
			t.Fatalf("simulated-sums.txt: bad line %q", line)
		}
		args := strings.Fields(p[0])
		t.Run(strings.TrimSpace(p[0]), func(t *testing.T) {
			dir := t.TempDir()
			needExt4(t, dir)
			out, errs, code := run(t, dir, append(args, "f"), nil)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			sum := func(s string) string {
				h := sha256.Sum256([]byte(s))
				return hex.EncodeToString(h[:])
			}
			if sum(errs) != strings.TrimSpace(p[2]) {
				t.Skipf("probes differ from the recording: %q", errs)
			}
			if sum(out) != strings.TrimSpace(p[1]) {
				t.Errorf("stdout differs from the C fsx's")
			}
			if got := fileSum(t, filepath.Join(dir, "f.fsxops")); got != strings.TrimSpace(p[3]) {
				t.Errorf(".fsxops differs from the C fsx's")
			}
		})
	}
}
