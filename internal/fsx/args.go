package fsx

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kaio-go/kaio"
)

// The C fsx's getopt_long string, unchanged: -T is documented in its usage
// text but missing here, so "-T" is a usage error in both tools.
const shortOpts = "0ab:c:de:fg:hi:j:kl:m:no:p:qr:s:t:uw:xyABD:EFJKHzCILN:OP:RS:UWXZ"

// Long options: the C tool's three, then kaio's. --engine chooses the kaio
// engine of -A, as does -E ENGINE (see ParseArgs: the C tool's bare -E,
// "no copy_file_range", keeps its meaning so that C command lines keep
// their op stream).
const (
	optDuration = 254 + iota
	optRecordOps
	optReplayOps
	optEngine
	optListEngines
	optHelp
)

var longOpts = []longOpt{
	{"replay-ops", requiredArg, optReplayOps},
	{"record-ops", optionalArg, optRecordOps},
	{"duration", optionalArg, optDuration},
	{"engine", requiredArg, optEngine},
	{"list-engines", noArg, optListEngines},
	{"help", noArg, optHelp},
}

// Exit codes of bad input, as the C fsx has them.
const (
	exitUsage       = 90
	exitNoDuration  = 87
	exitBadDuration = 88
	exitNoEngine    = 111
)

// ParseArgs parses a command line (without the program name) as the C fsx
// does. It returns the config and -1 to go on, or an exit code when the
// command is finished: bad input (one line on stderr, the classic code), or
// --help and --list-engines (printed on stdout).
func ParseArgs(args []string, stdout, stderr io.Writer) (*Config, int) {
	cfg := DefaultConfig()
	cfg.Args = args
	bad := func(format string, a ...any) (*Config, int) {
		fmt.Fprintf(stderr, "fsx: "+format+" (fsx --help lists the flags)\n", a...)
		return nil, exitUsage
	}
	banner := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		if cfg.LogID != "" {
			s = cfg.LogID + ": " + s
		}
		cfg.Banner = append(cfg.Banner, s)
	}
	opts, operands, err := getopt(args, shortOpts, longOpts)
	if err != nil {
		return bad("%v", err)
	}
	engineSet, uring := false, false
	for _, o := range opts {
		n := func() int64 { v, _ := getnum(o.arg); return v }
		switch o.code {
		case 'a':
			cfg.NoAtomic = true
		case 'b':
			v := n()
			if !cfg.Quiet {
				banner("Will begin at operation %d\n", v)
			}
			if v == 0 {
				return bad("-b: the first operation is 1")
			}
			cfg.SimulatedOps = v - 1
		case 'c':
			v := int(int32(n()))
			if !cfg.Quiet {
				banner("Chance of close/open is 1 in %d\n", v)
			}
			if v <= 0 {
				return bad("-c %s: want a chance of 1 in P > 0", o.arg)
			}
			cfg.CloseProb = v
		case 'd':
			cfg.Debug = true
		case 'e':
			v := int(int32(n()))
			if v < 0 || v > 1 {
				return bad("-e %s: want 0 or 1", o.arg)
			}
			cfg.PolluteEOF = v == 1
		case 'f':
			cfg.Flush = true
		case 'g':
			if o.arg != "" {
				cfg.FillData = o.arg[0]
			}
		case 'h':
			cfg.HugePages = true
		case 'i':
			cfg.LogDev = o.arg
		case 'j':
			cfg.LogID = o.arg
		case 'k':
			cfg.KeepFile = true
		case 'l':
			cfg.MaxFileLen = uint64(n())
			if cfg.MaxFileLen == 0 {
				return bad("-l %s: want a file length > 0", o.arg)
			}
		case 'm':
			start, rest := getnum(o.arg)
			if start < 0 {
				return bad("-m %s: want start:end", o.arg)
			}
			if !strings.HasPrefix(rest, ":") {
				return bad("-m %s: want start:end", o.arg)
			}
			end, _ := getnum(rest[1:])
			if end < 0 {
				return bad("-m %s: want start:end", o.arg)
			}
			if end == 0 {
				end = -1 // "aka infinity"
			}
			cfg.MonitorStart, cfg.MonitorEnd = start, end
			cfg.Debug = true
			// The C tool falls through from -m into -n here (no break):
			// monitoring turns size checks off. Kept, as the same flags
			// must do the same checks.
			cfg.NoSizeChecks = true
		case 'n':
			cfg.NoSizeChecks = true
		case 'o':
			cfg.MaxOpLen = int(int32(n()))
			if cfg.MaxOpLen <= 0 {
				return bad("-o %s: want an op length > 0", o.arg)
			}
		case 'p':
			cfg.Progress = n()
			if cfg.Progress == 0 {
				return bad("-p %s: want an interval", o.arg)
			}
		case 'q':
			cfg.Quiet = true
		case 'r', 't', 'w':
			v := int(int32(n()))
			if v <= 0 {
				return bad("-%c %s: want a boundary > 0", o.code, o.arg)
			}
			switch o.code {
			case 'r':
				cfg.ReadBdy = v
			case 't':
				cfg.TruncBdy = v
			default:
				cfg.WriteBdy = v
			}
		case 's':
			v := int(int32(n()))
			if v < 0 || v > 1 {
				return bad("-s %s: want 0 or 1", o.arg)
			}
			// Checked but not used: in the C tool's main() a local
			// "style" shadows the global, so -s never reaches the op
			// choice. Kept, so that the same flags draw the same ops;
			// Config.Style still works for callers of Run.
			_ = v
		case 'u':
			cfg.NoUnshare = true
		case 'x':
			cfg.Prealloc = true
		case 'y':
			cfg.Fsync = true
		case 'A':
			cfg.AIO = true
		case 'U':
			uring = true
		case 'D':
			cfg.DebugStart = n()
			if cfg.DebugStart < 1 {
				return bad("-D %s: want an op number >= 1", o.arg)
			}
		case 'F':
			cfg.NoFallocate = true
		case 'K':
			cfg.NoKeepSize = true
		case 'H':
			cfg.NoPunchHole = true
		case 'z':
			cfg.NoZeroRange = true
		case 'C':
			cfg.NoCollapse = true
		case 'I':
			cfg.NoInsert = true
		case '0':
			cfg.NoExchange = true
		case 'J':
			cfg.NoClone = true
		case 'B':
			cfg.NoDedupe = true
		case 'E':
			cfg.NoCopyRange = true
		case 'L':
			cfg.Lite = true
		case 'N':
			cfg.NumOps = n()
			if cfg.NumOps < 0 {
				return bad("-N %s: want a number of ops >= 0", o.arg)
			}
		case 'O':
			cfg.FixedOpLen = true
		case 'P':
			cfg.Dir = o.arg
		case 'R':
			cfg.NoMapReads = true
		case 'S':
			v := int(int32(n()))
			if v == 0 {
				// As the C tool: time(0) % 10000 + pid.
				v = int(time.Now().Unix()%10000) + os.Getpid()
			}
			if v < 0 {
				return bad("-S %s: want a seed >= 0", o.arg)
			}
			cfg.Seed = v
		case 'W':
			cfg.NoMapWrites = true
			if !cfg.Quiet {
				banner("mapped writes DISABLED\n")
			}
		case 'X':
			cfg.CheckFile = true
		case 'Z':
			cfg.Direct = true
		case optDuration:
			if !o.hasArg {
				fmt.Fprintf(stderr, "Specify time with --duration=\n")
				return nil, exitNoDuration
			}
			v, _ := strtoll(o.arg)
			if v < 1 {
				fmt.Fprintf(stderr, "%d: invalid duration\n", v)
				return nil, exitBadDuration
			}
			cfg.Duration = time.Duration(v) * time.Second
		case optRecordOps:
			cfg.RecordOps = true
			if o.hasArg {
				cfg.RecordOpsFile = o.arg
			}
		case optReplayOps:
			cfg.ReplayOps = o.arg
		case optEngine:
			e, err := kaio.ParseEngine(o.arg)
			if err != nil {
				return bad("--engine %s: want auto, retry, uring or native", o.arg)
			}
			cfg.Engine, cfg.AIO, engineSet = e, true, true
		case optListEngines:
			// Usable engines on stdout, for scripts to loop over; the
			// others on stderr with the reason, for the CI log.
			for _, st := range kaio.Probe() {
				if st.Usable {
					fmt.Fprintln(stdout, st.Engine)
				} else {
					fmt.Fprintf(stderr, "fsx: engine %s not usable: %s\n", st.Engine, st.Reason)
				}
			}
			return nil, 0
		case optHelp:
			io.WriteString(stdout, usageText)
			return nil, 0
		}
	}
	// -E ENGINE: kaio's engine choice. The C fsx's -E takes no argument
	// ("no copy_file_range"), so -E followed by an engine name and then the
	// file is kaio's; -E alone keeps its C meaning.
	if len(operands) == 2 && cfg.NoCopyRange && !engineSet {
		if e, err := kaio.ParseEngine(operands[0]); err == nil {
			cfg.Engine, cfg.AIO, engineSet = e, true, true
			cfg.NoCopyRange = false
			operands = operands[1:]
		}
	}
	if len(operands) != 1 {
		return bad("want exactly one file name, got %d", len(operands))
	}
	cfg.File = operands[0]
	if uring {
		if cfg.AIO && (!engineSet || cfg.Engine != kaio.EngineURing) {
			fmt.Fprintf(stderr, "-A and -U shouldn't be used together\n")
			return nil, exitUsage
		}
		cfg.AIO, cfg.Engine = true, kaio.EngineURing
	}
	if cfg.LogDev != "" && cfg.Dir == "" {
		fmt.Fprintf(stderr, "option -i <logdev> requires -P <dirpath>\n")
		return nil, exitUsage
	}
	return cfg, -1
}

// getnum is the C fsx's getnum: strtoll with base 0, then an optional
// suffix b (x512), k (x1024), m (x1048576) or w (x4). It returns the value
// and the text after what it parsed.
func getnum(s string) (int64, string) {
	v, rest := strtoll(s)
	if rest != "" {
		switch rest[0] {
		case 'b', 'B':
			v *= 512
		case 'k', 'K':
			v *= 1024
		case 'm', 'M':
			v *= 1024 * 1024
		case 'w', 'W':
			v *= 4
		default:
			return v, rest
		}
		rest = rest[1:]
	}
	return v, rest
}

// strtoll is C's strtoll(s, &end, 0): leading space, a sign, then hex
// ("0x"), octal ("0") or decimal digits, as many as parse; it saturates on
// overflow. It returns the value and the unparsed rest.
func strtoll(s string) (int64, string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := uint64(10)
	start := i
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && hexVal(s[i+2]) < 16 {
		base, i = 16, i+2
	} else if i < len(s) && s[i] == '0' {
		base = 8
	}
	var v uint64
	over := false
	j := i
	for ; j < len(s); j++ {
		d := uint64(hexVal(s[j]))
		if d >= base {
			break
		}
		if v > (1<<63)/base || v*base+d > 1<<63 {
			over = true
		}
		v = v*base + d
	}
	if j == start || (j == i && base != 8) {
		return 0, s // no digits: nothing parsed
	}
	switch {
	case over || (!neg && v > 1<<63-1):
		if neg {
			return -1 << 63, s[j:]
		}
		return 1<<63 - 1, s[j:]
	case neg:
		return -int64(v), s[j:]
	}
	return int64(v), s[j:]
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// usageText is the C fsx's usage, with kaio's -A/-U/--engine wording.
const usageText = `usage: fsx [-adfhknqxyzBEFHIJKLORWXZ0]
	   [-b opnum] [-c Prob] [-g filldata] [-i logdev] [-j logid]
	   [-l flen] [-m start:end] [-o oplen] [-p progressinterval]
	   [-r readbdy] [-s style] [-t truncbdy] [-w writebdy]
	   [-A|-U] [-E auto|retry|uring|native] [--engine=auto|retry|uring|native] [-D startingop] [-N numops] [-P dirpath] [-S seed]
	   [--replay-ops=opsfile] [--record-ops[=opsfile]] [--duration=seconds] [--list-engines]
	   ... fname
	-a: disable atomic writes
	-b opnum: beginning operation number (default 1)
	-c P: 1 in P chance of file close+open at each op (default infinity)
	-d: debug output for all operations
	-e: pollute post-eof on size changes (default 0)
	-f: flush and invalidate cache after I/O
	-g X: write character X instead of random generated data
	-h hugepages: use buffers backed by hugepages for reads/writes
	-i logdev: do integrity testing, logdev is the dm log writes device
	-j logid: prefix debug log messsages with this id
	-k: do not truncate existing file and use its size as upper bound on file size
	-l flen: the upper bound on file size (default 262144)
	-m startop:endop: monitor (print debug output) specified byte range (default 0:infinity)
	-n: no verifications of file size
	-o oplen: the upper bound on operation size (default 65536)
	-p progressinterval: debug output at specified operation interval
	-q: quieter operation
	-r readbdy: 4096 would make reads page aligned (default 1)
	-s style: 1 gives smaller truncates (default 0)
	-t truncbdy: 4096 would make truncates page aligned (default 1)
	-u Do not use unshare range
	-w writebdy: 4096 would make writes page aligned (default 1)
	-x: preallocate file space before starting, XFS only
	-y: synchronize changes to a file
	-A: send reads and writes through a kaio context (engine: --engine, default auto), -A excludes -U
	-U: -A on the io_uring engine (--engine=uring), -U excludes -A
	-E ENGINE, --engine=ENGINE: the kaio engine of -A: auto, retry, uring or native (implies -A);
	    -E without an engine name keeps its C meaning, no copy_file_range calls
	--list-engines: print the kaio engines usable here, one a line, and exit
	-D startingop: debug output starting at specified operation
	-F: Do not use fallocate (preallocation) calls
	-H: Do not use punch hole calls
	-z: Do not use zero range calls
	-C: Do not use collapse range calls
	-I: Do not use insert range calls
	-J: Do not use clone range calls
	-B: Do not use dedupe range calls
	-E: Do not use copy range calls
	-0: Do not use exchange range calls
	-K: Do not use keep size
	-L: fsxLite - no file creations & no file size changes
	-N numops: total # operations to do (default infinity)
	-O: use oplen (see -o flag) for every op (default random)
	-P dirpath: save .fsxlog .fsxops and .fsxgood files in dirpath (default ./)
	-R: read() system calls only (mapped reads disabled)
	-S seed: for random # generator (default 1) 0 gets timestamp
	-W: mapped write operations DISabled
	-X: Read file and compare to good buffer after every operation
	-Z: O_DIRECT (use -R, -W, -r and -w too, excludes dontcache IO)
	--replay-ops=opsfile: replay ops from recorded .fsxops file
	--record-ops[=opsfile]: dump ops file also on success. optionally specify ops file name
	--duration=seconds: ignore any -N setting and run for this many seconds
	fname: this filename is REQUIRED (no default)
`
