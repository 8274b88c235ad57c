//go:build linux

package stress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// run parses args (file names relative to dir), runs them and returns the
// exit code and both streams.
func run(t *testing.T, dir string, args ...string) (int, string, string, Config) {
	t.Helper()
	cfg, err := ParseArgs(args)
	if err != nil {
		t.Fatalf("ParseArgs(%q): %v", args, err)
	}
	for i, f := range cfg.Files {
		cfg.Files[i] = filepath.Join(dir, f)
	}
	return runCfg(t, cfg)
}

func runCfg(t *testing.T, cfg Config) (int, string, string, Config) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(cfg, &out, &errb)
	return code, out.String(), errb.String(), cfg
}

// mustMatch checks that each pattern matches some line of s, in order.
func mustMatch(t *testing.T, s string, patterns ...string) {
	t.Helper()
	lines := strings.Split(s, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile("^" + p + "$")
		for ; i < len(lines); i++ {
			if re.MatchString(lines[i]) {
				break
			}
		}
		if i == len(lines) {
			t.Fatalf("no line matching %q (in order) in:\n%s", p, s)
		}
		i++
	}
}

const (
	mbps   = `\([0-9.]+ MB/s\)`
	secs   = `[0-9.]+s`
	header = `file size 4MB, record size 64KB, depth 64, ios per iteration 8`
)

func TestDefaultRunLines(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr, _ := run(t, dir, "-s", "4", "f")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stdout != "Running single thread version \n" {
		t.Fatalf("stdout %q", stdout)
	}
	f := regexp.QuoteMeta(filepath.Join(dir, "f"))
	mustMatch(t, stderr,
		header,
		`max io_submit 8, buffer alignment set to 4KB`,
		`threads 1 files 1 contexts 1 context offset 2MB verification off`,
		`kaio engine (retry|uring|native)`,
		`write on `+f+` `+mbps+` 4.00 MB in `+secs,
		`thread 0 write totals `+mbps+` 4.00 MB in `+secs,
		`read on `+f+` `+mbps+` 4.00 MB in `+secs,
		`thread 0 read totals `+mbps+` 4.00 MB in `+secs,
		`random write on `+f+` `+mbps+` 4.00 MB in `+secs,
		`thread 0 random write totals `+mbps+` 4.00 MB in `+secs,
		`random read on `+f+` `+mbps+` 4.00 MB in `+secs,
		`thread 0 random read totals `+mbps+` 4.00 MB in `+secs,
	)
	if st, err := os.Stat(filepath.Join(dir, "f")); err != nil || st.Size() != 4<<20 {
		t.Fatalf("file: %v %v", st, err)
	}
}

// TestOffsetsMatchClassic compares every offset built with the classic's,
// taken with strace from the C aio-stress (io_submit's aio_fildes - 3 and
// aio_offset), for the commands in the table.
func TestOffsetsMatchClassic(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"s8", []string{"-s", "8", "-o", "2", "-o", "3", "a"}},
		// -b 32 after -C: the classic's -C also sets max_io_submit.
		{"s8c2", []string{"-s", "8", "-c", "2", "-C", "2m", "-b", "32", "-o", "2", "-o", "3", "a", "b"}},
		{"s16a64k", []string{"-s", "16", "-a", "64k", "-r", "16k", "-o", "3", "a"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tc.golden+".offsets"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseArgs(append([]string{"-E", "retry"}, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for i, f := range cfg.Files {
				cfg.Files[i] = filepath.Join(dir, f)
			}
			var got bytes.Buffer
			cfg.onBuild = func(o, _ int, off int64) { fmt.Fprintf(&got, "%d %d\n", o, off) }
			if code, _, stderr, _ := runCfg(t, cfg); code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if got.String() != string(want) {
				g, w := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("offset %d: got %q, classic %q (%d vs %d offsets)", i, g[i], w[i], len(g), len(w))
					}
				}
				t.Fatalf("got %d offsets, classic %d", len(g), len(w))
			}
		})
	}
}

// TestRandomOffsetsInRange: the classic's offsets pass the end of ranges
// under 2 MiB; these stay inside, aligned.
func TestRandomOffsetsInRange(t *testing.T) {
	for _, size := range []string{"1", "1536k", "3", "64k"} {
		cfg, err := ParseArgs([]string{"-E", "retry", "-s", size, "-r", "4k", "-c", "2", "-C", "16k", "-o", "2", "f"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Files[0] = filepath.Join(t.TempDir(), "f")
		fs, _ := ParseSize(size, mib)
		n := 0
		cfg.onBuild = func(o, _ int, off int64) {
			start := int64(o) * 16 << 10
			if off < start || off+4096 > fs-start || off%4096 != 0 {
				t.Errorf("-s %s: oper %d offset %d outside [%d, %d) or unaligned", size, o, off, start, fs-start)
			}
			n++
		}
		if code, _, stderr, _ := runCfg(t, cfg); code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if n == 0 {
			t.Fatalf("-s %s: no ios", size)
		}
	}
}

// hist is a line of the classic's latency histogram: counts of ios under
// 100, 250, 500, 1000, 5000 and 10000 ms.
const hist = "\t [0-9]+ < 100 [0-9]+ < 250 [0-9]+ < 500 [0-9]+ < 1000 [0-9]+ < 5000 [0-9]+ < 10000"

// histTotals returns each histogram line's count of ios, in order.
func histTotals(s string) []int {
	var totals []int
	re := regexp.MustCompile("^" + hist + "$")
	for _, line := range strings.Split(s, "\n") {
		if !re.MatchString(line) {
			continue
		}
		total := 0
		for i, f := range strings.Fields(line) {
			if i%3 == 0 {
				n, _ := strconv.Atoi(f)
				total += n
			}
		}
		totals = append(totals, total)
	}
	return totals
}

func TestFlagFamilies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		patterns []string
		stdout   string
	}{
		{"stages", []string{"-s", "2", "-o", "3", "-o", "1", "f"}, []string{
			`adding stage random read`, `adding stage read`, `starting with read`,
			`file size 2MB, .*`, `read on .*`, `thread 0 read totals .*`, `random read on .*`,
			`thread 0 random read totals .*`}, "Running single thread version \n"},
		{"latency", []string{"-s", "2", "-l", "-L", "-o", "0", "f"}, []string{
			// The classic's order: the latency lines, then the lines of
			// the wait for the stage's last completions.
			`latency min [0-9.]+ avg [0-9.]+ max [0-9.]+`, hist,
			`latency p50 [0-9.]+ p99 [0-9.]+ p99.9 [0-9.]+ max [0-9.]+`,
			`completion latency min [0-9.]+ avg [0-9.]+ max [0-9.]+`,
			hist,
			`completion latency p50 [0-9.]+ p99 [0-9.]+ p99.9 [0-9.]+ max [0-9.]+`,
			`write on .*`,
			`thread 0 write totals .*`}, ""},
		{"sizes", []string{"-s", "1024k", "-r", "8k", "-a", "8k", "-d", "4", "-i", "2", "-b", "4", "-o", "0", "f"}, []string{
			`file size 1MB, record size 8KB, depth 4, ios per iteration 2`,
			`max io_submit 4, buffer alignment set to 8KB`,
			`write on .* 1.00 MB in .*`}, ""},
		{"dropping", []string{"-s", "1", "-d", "4", "-b", "2", "-o", "0", "f"}, []string{
			`dropping io_iter to 4`, `dropping io_iter to 2`,
			`file size 1MB, record size 64KB, depth 4, ios per iteration 2`,
			`max io_submit 2, buffer alignment set to 4KB`}, ""},
		{"threads", []string{"-s", "8", "-t", "4", "-c", "2", "-o", "0", "-o", "1", "f", "g"}, []string{
			`threads 4 files 2 contexts 2 context offset 2MB verification off`,
			`thread [0-3] write totals .*`, `write throughput ` + mbps + ` [0-9.]+ MB in ` + secs + ` min transfer [0-9.]+MB`,
			`thread [0-3] read totals .*`, `read throughput .* min transfer [0-9.]+MB`}, "Running multi thread version num_threads:4\n"},
		{"threads-clamped", []string{"-s", "4", "-t", "3", "-x", "-o", "0", "f"}, []string{
			`dropping thread count to the number of contexts 1`,
			`threads 1 files 1 contexts 1 .*`}, ""},
		{"nostonewall", []string{"-s", "8", "-t", "2", "-c", "2", "-x", "-o", "0", "f"}, []string{
			`write throughput ` + mbps + ` 12.00 MB in ` + secs}, ""},
		{"contexts", []string{"-s", "8", "-c", "3", "-C", "1m", "-o", "0", "-o", "3", "f"}, []string{
			`threads 1 files 1 contexts 3 context offset 1MB verification off`,
			`write on .* [468].00 MB in .*`, `write on .* [468].00 MB in .*`, `write on .* [468].00 MB in .*`,
			`thread 0 write totals ` + mbps + ` 18.00 MB in .*`}, ""},
		{"iterations", []string{"-s", "8", "-I", "2", "f"}, []string{
			`write on .* 1.00 MB in .*`, `thread 0 write totals ` + mbps + ` 1.00 MB in .*`}, ""},
		{"sync-nofsync", []string{"-s", "1", "-S", "-n", "-o", "0", "f"}, []string{`write on .* 1.00 MB in .*`}, ""},
		{"shm", []string{"-s", "1", "-m", "shm", "-o", "0", "-o", "1", "-v", "f"}, []string{
			`using ipc shm`, `.*verification on`, `read on .* 1.00 MB in .*`}, ""},
		{"shmfs", []string{"-s", "1", "-m", "shmfs", "-o", "0", "-o", "1", "-v", "f"}, []string{
			`using /dev/shm for buffers`, `read on .* 1.00 MB in .*`}, ""},
		{"verify", []string{"-s", "4", "-v", "f"}, []string{`.*verification on`, `random read on .*`}, ""},
		{"unlink", []string{"-s", "1", "-u", "-o", "0", "f"}, []string{`write on .*`}, "Running single thread version \nCleaning up file F \n"},
		{"engine", []string{"-s", "1", "-E", "retry", "-o", "0", "f"}, []string{`kaio engine retry`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr, _ := run(t, dir, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			if strings.Contains(stderr, "verify error") || strings.Contains(stderr, "io err") {
				t.Fatalf("errors:\n%s", stderr)
			}
			mustMatch(t, stderr, tc.patterns...)
			if want := strings.ReplaceAll(tc.stdout, "F", filepath.Join(dir, "f")); want != "" && stdout != want {
				t.Fatalf("stdout %q, want %q", stdout, want)
			}
			if tc.name == "latency" {
				// Every io lands in a bucket, whatever the machine's load:
				// 4 submits, and all 32 completions of the stage (not the
				// classic's 32 - depth).
				if got := histTotals(stderr); !slices.Equal(got, []int{4, 32}) {
					t.Fatalf("histogram totals %v, want [4 32]:\n%s", got, stderr)
				}
			}
			if tc.name == "unlink" {
				if _, err := os.Stat(filepath.Join(dir, "f")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("file not removed: %v", err)
				}
			}
		})
	}
}

func TestODirect(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(filepath.Join(dir, "probe"), unix.O_CREAT|unix.O_RDWR|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Skipf("O_DIRECT not supported on %s: %v", dir, err)
	}
	unix.Close(fd)
	code, _, stderr, _ := run(t, dir, "-s", "2", "-O", "-v", "-r", "16k", "f")
	if code != 0 || strings.Contains(stderr, "verify error") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustMatch(t, stderr, `read on .* 2.00 MB in .*`, `random read on .* 2.00 MB in .*`)
	// A record O_DIRECT cannot do is one line, before any io.
	code, _, stderr, _ = run(t, dir, "-s", "2", "-O", "-r", "1000b", "f")
	if code != ExitFail || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "O_DIRECT") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func TestJSON(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr, _ := run(t, dir, "-s", "2", "-json", "-E", "retry", "f")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustMatch(t, stderr, `Running single thread version `, `write on .*`)
	sc := bufio.NewScanner(strings.NewReader(stdout))
	var stages []string
	for sc.Scan() {
		var r StageResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %q", err, sc.Text())
		}
		if r.Bytes != 2<<20 || r.IOs != 32 || r.Engine != "retry" || r.RecordSize != 64<<10 ||
			r.CompletionLatency.Count != 32 || r.CompletionLatency.P99 < r.CompletionLatency.P50 ||
			r.SubmitLatency.Count != 4 || r.MBps <= 0 || r.IOMBps <= 0 || r.Errors != 0 {
			t.Fatalf("bad result %+v", r)
		}
		stages = append(stages, r.Stage)
	}
	if strings.Join(stages, ",") != "write,read,random write,random read" {
		t.Fatalf("stages %q", stages)
	}
}

// TestVerifyCatchesCorruptRead: a byte flipped in the buffer after the read
// completes (as if the engine or the disk returned bad data) is reported
// with the classic's lines, and the exit code says so.
func TestVerifyCatchesCorruptRead(t *testing.T) {
	cfg, err := ParseArgs([]string{"-s", "1", "-v", "-o", "0", "-o", "1", "f"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Files[0] = filepath.Join(t.TempDir(), "f")
	cfg.afterRead = func(buf []byte, off int64) {
		if off == 3*64<<10 {
			buf[100] = 'X'
		}
	}
	code, _, stderr, _ := runCfg(t, cfg)
	if code != ExitFail {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFail, stderr)
	}
	mustMatch(t, stderr,
		`verify error, file .*/f offset 196608 contents \(offset:bad:good\):`,
		`100:X:b `,
		`read on .*`)
	if strings.Count(stderr, "verify error") != 1 {
		t.Fatalf("want one verify error:\n%s", stderr)
	}
}

// TestVerifyCatchesCorruptFile: the file is corrupted through another fd
// between the write stage and the read stage (two runs, -o 0 then -o 1),
// and the read path, with no hook, finds it.
func TestVerifyCatchesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr, _ := run(t, dir, "-s", "1", "-v", "-o", "0", "f"); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	f, err := os.OpenFile(filepath.Join(dir, "f"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("Z"), 5*64<<10+7); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, _, stderr, _ := run(t, dir, "-s", "1", "-v", "-o", "1", "f")
	if code != ExitFail {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustMatch(t, stderr, `verify error, file .*/f offset 327680 contents \(offset:bad:good\):`, `7:Z:b `)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"-s", "1", "-r", "2m", "f"}, "record size 2097152 bytes is larger than the file size 1048576 bytes", ExitFail},
		{[]string{"-s", "0", "f"}, "file size must be positive", ExitFail},
		{[]string{"-s", "4", "-a", "3k", "f"}, "not a power of two", ExitFail},
		{[]string{"-s", "4", "-c", "4", "f"}, "file size 4194304 too small for 4 contexts", ExitFail},
		{[]string{"-s", "1", "nodir/f"}, "cannot open", ExitFail},
		{[]string{"-s", "1"}, "no file given", ExitFail},
		{[]string{"-s", "1", "-E", "native", "f"}, "engine native unavailable", ExitSetup},
	} {
		cfg, err := ParseArgs(tc.args)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if cfg.Engine == kaio.EngineNative && engineUsable(kaio.EngineNative) {
			continue
		}
		for i, f := range cfg.Files {
			cfg.Files[i] = filepath.Join(dir, f)
		}
		code, stdout, stderr, _ := runCfg(t, cfg)
		if code != tc.code || stdout != "" || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "aio-stress: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
	}
}

func engineUsable(e kaio.Engine) bool {
	for _, st := range kaio.Probe() {
		if st.Engine == e {
			return st.Usable
		}
	}
	return false
}

// TestNoAllocPerIO: the tool's own loop allocates nothing per io; what a
// run allocates is setup and a few lines per stage, whatever the number of
// ios. (The engine is measured with it; the retry engine allocates nothing
// per request in steady state either.)
func TestNoAllocPerIO(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	allocs := func(size string) uint64 {
		cfg, err := ParseArgs([]string{"-E", "retry", "-n", "-s", size, "-r", "4k", "f"})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Files[0] = filepath.Join(t.TempDir(), "f")
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if code, _, stderr, _ := runCfg(t, cfg); code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		runtime.ReadMemStats(&m1)
		return m1.Mallocs - m0.Mallocs
	}
	small, large := allocs("2"), allocs("8") // 2048 and 8192 ios
	extra := int64(large) - int64(small)
	t.Logf("allocations: %d for 2048 ios, %d for 8192", small, large)
	if extra > 6144/20 {
		t.Fatalf("%d more allocations for 6144 more ios", extra)
	}
}

// TestSubmitRefusalSaysWhy: where io_submit refuses an iocb, the classic's
// line (errno only) is followed by kaio's, which says which and why. The
// CLI checks what it can before it runs (O_DIRECT record sizes and
// alignments below 512), so the refusal is made here directly: a file
// system with a 4 KiB logical block would make it with -O -a 512.
func TestSubmitRefusalSaysWhy(t *testing.T) {
	ctx, err := kaio.Setup(4, kaio.WithEngine(kaio.EngineRetry))
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Destroy()
	var out bytes.Buffer
	th := &thread{g: &group{out: &output{w: &out}}, ctx: ctx, submitLat: newLatency()}
	err = th.runBuilt([]*kaio.Iocb{{Op: kaio.OpPRead, Fd: -1, Buf: make([]byte, 8)}})
	if !errors.Is(err, unix.EBADF) {
		t.Fatalf("runBuilt: %v, want EBADF", err)
	}
	if want := "ret -9 (Bad file descriptor) on io_submit\nkaio: Submit: iocbs[0] refused: fd -1 not open (EBADF)\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}
