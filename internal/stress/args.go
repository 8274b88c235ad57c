//go:build linux

package stress

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kaio-go/kaio"
)

// ErrHelp is returned by ParseArgs for -h (the classic prints the usage on
// stdout and exits 1) and --help (usage, exit 0).
var ErrHelp = errors.New("help requested")

// ErrLongHelp is returned by ParseArgs for --help.
var ErrLongHelp = errors.New("long help requested")

// withArg are the classic's getopt letters that take an argument
// ("a:b:c:C:m:s:r:d:i:I:o:t:"), plus -E.
const withArg = "abcCmsrdiIotE"

// noArg are the classic's letters without an argument ("lLnhOSxvu").
const noArg = "lLnhOSxvu"

// ParseArgs parses the classic's command line, getopt style: letters may be
// grouped (-nOv), an argument may be attached (-s256) or follow (-s 256),
// options and files may be mixed (glibc's getopt permutes), and "--" ends
// the options. -json, --json and --help are whole words. Unlike the
// classic, a bad number or size, an unknown -m or -o value or an unknown
// flag is an error, not silently atoi()'d to something else.
func ParseArgs(args []string) (Config, error) {
	c := Default()
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			c.Files = append(c.Files, args[i+1:]...)
			return c, nil
		case a == "-json" || a == "--json":
			c.JSON = true
			continue
		case a == "--help":
			return c, ErrLongHelp
		case len(a) < 2 || a[0] != '-':
			c.Files = append(c.Files, a)
			continue
		case strings.HasPrefix(a, "--"):
			return c, fmt.Errorf("unknown option %s (see -h)", a)
		}
		for j := 1; j < len(a); j++ {
			l := a[j]
			if strings.IndexByte(noArg, l) >= 0 {
				if l == 'h' {
					return c, ErrHelp
				}
				setBool(&c, l)
				continue
			}
			if strings.IndexByte(withArg, l) < 0 {
				return c, fmt.Errorf("unknown option -%c (see -h)", l)
			}
			v := a[j+1:]
			if v == "" {
				if i+1 >= len(args) {
					return c, fmt.Errorf("option -%c needs an argument", l)
				}
				i++
				v = args[i]
			}
			if err := setArg(&c, l, v); err != nil {
				return c, err
			}
			break
		}
	}
	return c, nil
}

func setBool(c *Config, l byte) {
	switch l {
	case 'l':
		c.SubmitLat = true
	case 'L':
		c.CompletionLat = true
	case 'n':
		c.NoFsync = true
	case 'O':
		c.ODirect = true
	case 'S':
		c.OSync = true
	case 'x':
		c.NoStonewall = true
	case 'v':
		c.Verify = true
	case 'u':
		c.Unlink = true
	}
}

func setArg(c *Config, l byte, v string) error {
	var err error
	switch l {
	case 'a':
		c.Align, err = ParseSize(v, kib)
	case 's':
		c.FileSize, err = ParseSize(v, mib)
	case 'r':
		c.RecLen, err = ParseSize(v, kib)
	case 'C':
		// The classic's -C falls through into -b and also sets
		// max_io_submit to atoi(arg); here it sets only the offset.
		c.ContextOffset, err = ParseSize(v, mib)
	case 'b':
		c.MaxIOSubmit, err = parseCount(v)
	case 'c':
		c.Contexts, err = parseCount(v)
	case 'd':
		c.Depth, err = parseCount(v)
	case 'i':
		c.IOIter, err = parseCount(v)
	case 'I':
		c.Iterations, err = parseCount(v)
	case 't':
		c.Threads, err = parseCount(v)
	case 'o':
		var s int
		s, err = strconv.Atoi(v)
		if err != nil || s < 0 || s >= numStages {
			return fmt.Errorf("bad stage %q for -o (want 0 write, 1 read, 2 random write, 3 random read)", v)
		}
		c.Stages = append(c.Stages, s)
		return nil
	case 'm':
		switch v {
		case "shm":
			c.Mem = MemSHM
		case "shmfs":
			c.Mem = MemSHMFS
		default:
			return fmt.Errorf("bad value %q for -m (want shm or shmfs)", v)
		}
		return nil
	case 'E':
		c.Engine, err = kaio.ParseEngine(v)
		if err != nil {
			return fmt.Errorf("bad engine %q for -E (want auto, retry, uring or native)", v)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("bad %s %q for -%c: %v", argWhat(l), v, l, err)
	}
	return nil
}

func argWhat(l byte) string {
	if strings.IndexByte("asrC", l) >= 0 {
		return "size"
	}
	return "number"
}

// parseCount is a strict atoi for counts: a positive decimal number.
func parseCount(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, errors.New("want a positive decimal number")
	}
	if n <= 0 {
		return 0, errors.New("must be positive")
	}
	return int(n), nil
}

// ParseSize is the classic's parse_size: a decimal number times unit, or
// with a k, m, g or b suffix (either case) times 1 KiB, 1 MiB, 1 GiB or 1.
// The classic takes "12x" as 12 units and "abc" as 0; here they are errors.
// -C 0 is allowed (contexts that overlap entirely); other sizes must be
// positive.
func ParseSize(v string, unit int64) (int64, error) {
	num := v
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'g', 'G':
			unit, num = 1<<30, v[:n-1]
		case 'm', 'M':
			unit, num = 1<<20, v[:n-1]
		case 'k', 'K':
			unit, num = 1<<10, v[:n-1]
		case 'b', 'B':
			unit, num = 1, v[:n-1]
		}
	}
	if num == "" || num[0] == '+' || num[0] == '-' {
		return 0, errors.New("want a number with an optional k, m, g or b suffix")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, errors.New("want a number with an optional k, m, g or b suffix")
	}
	if n > (1<<62)/unit {
		return 0, errors.New("too large")
	}
	return n * unit, nil
}

// Usage writes the classic's usage text (on stdout, as the classic does),
// corrected where the classic's text is wrong, with kaio's additions.
func Usage(w io.Writer) {
	io.WriteString(w, `usage: aio-stress [-s size] [-r size] [-a size] [-d num] [-b num]
                  [-i num] [-t num] [-c num] [-C size] [-nxhOS ]
                  [-E engine] [-json] file1 [file2 ...]
	-a size in KB at which to align buffers (a power of two)
	-b max number of iocbs to give io_submit at once
	-c number of io contexts per file
	-C offset between contexts, default 2MB
	-s size in MB of the test file(s), default 1024MB
	-r record size in KB used for each io, default 64KB
	-d number of pending aio requests for each file, default 64
	-i number of ios per file sent before switching
	   to the next file, default 8
	-I max number of submit rounds per stage (each of up to -b ios);
	   a stage cut short ends the run. Default: no limit
	-O Use O_DIRECT (not available in 2.4 kernels),
	-S Use O_SYNC for writes
	-o add an operation to the list: write=0, read=1,
	   random write=2, random read=3.
	   repeat -o to specify multiple ops: -o 0 -o 1 etc.
	-m shm use ipc shared memory for io buffers instead of malloc
	-m shmfs mmap a file in /dev/shm for io buffers
	-n no fsyncs between write stage and read stage
	-l print io_submit latencies after each stage
	-L print io completion latencies after each stage
	-t number of threads to run
	-u unlink files after completion
	-v verification of bytes written
	-x turn off thread stonewalling
	-h this message

	   the size options (-a -s and -r) allow modifiers -s 400{k,m,g}
	   translate to 400KB, 400MB and 400GB

	kaio additions:
	-E engine: auto (default: uring when usable, else retry), retry,
	   uring or native; on retry, buffered writes that would block are
	   made by the thread that reaps (kaio.WithDeferredWrites), as the
	   classic's io_submit made them itself
	-json one JSON result per stage on stdout (the classic's stdout
	   lines move to stderr)
	-l and -L also print p50, p99, p99.9 and max latencies (ms)
	a progress line once a second on a terminal

	fixed classic bugs (the flags mean what the classic's help says):
	-C no longer also sets -b; -I counts submit rounds, not ios, and
	no longer leaves ios in flight; completion latencies are printed
	after the stage's last completion; "min transfer" is the minimum
	over threads; random offsets of contexts smaller than 2MB stay
	inside the file; -s is too small only when a context would start
	past its end (the classic refuses -s 1); a failed open, a bad number, a record larger than
	the file are one-line errors; verify errors, short writes and io
	errors in any thread make the exit status 1; a stage with failed
	ios prints its first failure per file and context, then "N of M
	ios failed" and the MB done, never a throughput for what failed;
	a run that writes more than its file system has free is warned
	about before it starts; with -l and -L, the stage's last
	"<stage> on <file>" lines follow the latency lines, as in the
	classic (which prints its latencies before that last wait)
version 0.21 (kaio)
`)
}
