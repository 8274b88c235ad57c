//go:build linux

package fsx

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kaio-go/kaio"
)

// The C fsx's getopt_long string, unchanged: -T is documented in its usage
// text but missing here, so "-T" is a usage error in both tools.
const shortOpts = "0ab:c:de:fg:hi:j:kl:m:no:p:qr:s:t:uw:xyABD:EFJKHzCILN:OP:RS:UWXZ"

// Long options: the C tool's three, then kaio's. --engine is the one way to
// choose the kaio engine of -A: the C tool's -E ("no copy_file_range")
// takes no value and keeps its meaning, so that C command lines keep their
// op stream.
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

// The bounds of the C tool's int globals (-c, -o, -r, -S, ...): a value
// outside them would wrap in C.
const (
	cIntMax = 1<<31 - 1
	llMax   = 1<<63 - 1
)

// engineNames are the values of --engine.
const engineNames = "auto, retry, uring or native"

// ParseArgs parses a command line (without the program name) as the C fsx
// does. It returns the config and -1 to go on, or an exit code when the
// command is finished: bad input (one line on stderr, the classic code), or
// --help and --list-engines (printed on stdout).
//
// Where the C tool would misread a value silently (getnum stops at the first
// character it does not know, C ints wrap), this refuses it with a line
// that names the flag and the value: "-N 1o0", "-o 4294967296" and
// "-l -1" are errors, not 1, 0 and 2^64-1.
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
	warning := "" // printed if the command line is good
	for _, o := range opts {
		// n is the option's number, within [lo, hi]; else the run is
		// refused with what was wanted.
		var numErr string
		n := func(lo, hi int64, want string) int64 {
			v, err := number(o.arg, lo, hi)
			if err != "" && numErr == "" {
				numErr = fmt.Sprintf("%s %s: %s, want %s%s", optName(o), o.arg, err, want, fromElement(args, o))
			}
			return v
		}
		switch o.code {
		case 'a':
			cfg.NoAtomic = true
		case 'b':
			v := n(1, llMax, "the number of the first operation, >= 1")
			if numErr == "" && !cfg.Quiet {
				banner("Will begin at operation %d\n", v)
			}
			cfg.SimulatedOps = v - 1
		case 'c':
			v := n(1, cIntMax, "a chance of 1 in P, P >= 1")
			if numErr == "" && !cfg.Quiet {
				banner("Chance of close/open is 1 in %d\n", v)
			}
			cfg.CloseProb = int(v)
		case 'd':
			cfg.Debug = true
		case 'e':
			cfg.PolluteEOF = n(0, 1, "0 or 1") == 1
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
			cfg.MaxFileLen = uint64(n(1, llMax, "a file length > 0"))
		case 'm':
			start, end, ok := monitorRange(o.arg)
			if !ok {
				return bad("-m %s: want start:end, byte offsets >= 0 (end 0: to the end)%s", o.arg, fromElement(args, o))
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
			cfg.MaxOpLen = int(n(1, cIntMax, "an op length > 0"))
		case 'p':
			cfg.Progress = n(1, llMax, "an interval of operations >= 1")
		case 'q':
			cfg.Quiet = true
		case 'r', 't', 'w':
			v := int(n(1, cIntMax, "a boundary > 0"))
			switch o.code {
			case 'r':
				cfg.ReadBdy = v
			case 't':
				cfg.TruncBdy = v
			default:
				cfg.WriteBdy = v
			}
		case 's':
			// Checked but not used: in the C tool's main() a local
			// "style" shadows the global, so -s never reaches the op
			// choice. Kept, so that the same flags draw the same ops;
			// Config.Style still works for callers of Run.
			n(0, 1, "0 or 1")
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
			cfg.DebugStart = n(1, llMax, "an operation number >= 1")
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
			// The C tool's: no copy_file_range. Never an engine: that
			// is --engine's.
			cfg.NoCopyRange = true
			if o.last && o.idx+1 < len(args) && looksLikeEngine(args[o.idx+1]) {
				warning = fmt.Sprintf("fsx: warning: -E %s: -E takes no value (as in the C fsx it means no copy_file_range calls), so %q is the file name; the kaio engine is chosen with --engine=NAME (%s)\n",
					args[o.idx+1], args[o.idx+1], engineNames)
			}
		case 'L':
			cfg.Lite = true
		case 'N':
			cfg.NumOps = n(0, llMax, "a number of operations >= 0")
		case 'O':
			cfg.FixedOpLen = true
		case 'P':
			cfg.Dir = o.arg
		case 'R':
			cfg.NoMapReads = true
		case 'S':
			v := int(n(0, cIntMax, "a seed >= 0 (0: from the time and pid)"))
			if v == 0 {
				// As the C tool: time(0) % 10000 + pid.
				v = int(time.Now().Unix()%10000) + os.Getpid()
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
				fmt.Fprintf(stderr, "fsx: --duration needs its value attached: --duration=SECONDS\n")
				return nil, exitNoDuration
			}
			v, err := number(o.arg, 1, llMax/int64(time.Second))
			if err != "" {
				fmt.Fprintf(stderr, "fsx: --duration=%s: %s, want a number of seconds >= 1\n", o.arg, err)
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
				return bad("--engine=%s: unknown engine, want %s", o.arg, engineNames)
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
		if numErr != "" {
			return bad("%s", numErr)
		}
	}
	if len(operands) != 1 {
		hint := ""
		if cfg.NoCopyRange {
			for _, op := range operands {
				if looksLikeEngine(op) {
					hint = fmt.Sprintf("; -E takes no value (it means no copy_file_range calls): choose the kaio engine with --engine=NAME (%s)", engineNames)
				}
			}
		}
		return bad("want exactly one file name, got %d%s%s", len(operands), quoteList(operands), hint)
	}
	cfg.File = operands[0]
	if uring {
		if cfg.AIO && (!engineSet || cfg.Engine != kaio.EngineURing) {
			fmt.Fprintf(stderr, "fsx: -A and -U shouldn't be used together\n")
			return nil, exitUsage
		}
		cfg.AIO, cfg.Engine = true, kaio.EngineURing
	}
	if cfg.LogDev != "" && cfg.Dir == "" {
		fmt.Fprintf(stderr, "fsx: option -i <logdev> requires -P <dirpath>\n")
		return nil, exitUsage
	}
	io.WriteString(stderr, warning)
	return cfg, -1
}

// optName is how a message names an option: -N, --duration.
func optName(o opt) string {
	for _, lo := range longOpts {
		if lo.code == o.code {
			return "--" + lo.name
		}
	}
	return "-" + string(rune(o.code))
}

// fromElement says which command-line word an attached argument came from
// when options were grouped before it ("-Ebogus" is -E, then -b "ogus"),
// which is otherwise hard to see.
func fromElement(args []string, o opt) string {
	if o.code >= 256 || o.argIdx != o.idx || o.argOff <= 2 {
		return ""
	}
	w := args[o.idx]
	before := w[1 : o.argOff-1] // option letters, ASCII: getopt knew them
	var b strings.Builder
	fmt.Fprintf(&b, "; %s is", w)
	for i := 0; i < len(before); i++ {
		fmt.Fprintf(&b, " -%c", before[i])
	}
	fmt.Fprintf(&b, " -%c %s", o.code, o.arg)
	if strings.IndexByte(before, 'E') >= 0 {
		b.WriteString(", and -E takes no value: the kaio engine is --engine=NAME")
	}
	return b.String()
}

// quoteList is ": a b" for the operands of a message, or "".
func quoteList(ops []string) string {
	if len(ops) == 0 {
		return ""
	}
	q := make([]string, len(ops))
	for i, s := range ops {
		q[i] = strconv.Quote(s)
	}
	return ": " + strings.Join(q, " ")
}

// number is getnum (strtoll base 0, then an optional b, k, m or w suffix),
// refusing what getnum would misread: no digits, anything after the
// number and its suffix, a value that overflows, and one outside [lo, hi].
// It returns the value, or why not.
func number(s string, lo, hi int64) (int64, string) {
	v, rest := strtoll(s)
	if rest == s {
		return 0, "not a number"
	}
	mult := int64(1)
	if rest != "" {
		switch rest[0] {
		case 'b', 'B':
			mult = 512
		case 'k', 'K':
			mult = 1024
		case 'm', 'M':
			mult = 1024 * 1024
		case 'w', 'W':
			mult = 4
		default:
			return 0, fmt.Sprintf("%q after the number", rest)
		}
		if rest = rest[1:]; rest != "" {
			return 0, fmt.Sprintf("%q after the number", rest)
		}
	}
	if v == llMax || v == -llMax-1 || v > llMax/mult || v < -llMax/mult {
		return 0, "out of range"
	}
	v *= mult
	switch {
	case v < lo:
		return 0, fmt.Sprintf("below %d", lo)
	case v > hi:
		return 0, fmt.Sprintf("over %d", hi)
	}
	return v, ""
}

// monitorRange parses -m start:end (end 0 is -1, "aka infinity", as in C).
func monitorRange(s string) (start, end int64, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	start, err := number(a, 0, llMax)
	if err != "" {
		return 0, 0, false
	}
	end, err = number(b, 0, llMax)
	if err != "" {
		return 0, 0, false
	}
	if end == 0 {
		end = -1
	}
	return start, end, true
}

// looksLikeEngine says whether a word is an engine name or a near miss of
// one (a typo such as "retyr" or "urnig"): after -E, such a word was meant
// as --engine's value.
func looksLikeEngine(w string) bool {
	if w == "" || strings.ContainsAny(w, "/.") || w[0] == '-' {
		return false
	}
	w = strings.ToLower(w)
	for _, e := range []string{"auto", "retry", "uring", "native"} {
		if editDistance(w, e) <= 2 && len(w) >= 3 {
			return true
		}
	}
	return false
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours cost 1.
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		return 99
	}
	var d [33][33]int
	for i := 0; i <= len(a); i++ {
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
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
	   [-A|-U] [--engine=auto|retry|uring|native] [-D startingop] [-N numops] [-P dirpath] [-S seed]
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
	--engine=ENGINE: the kaio engine of -A: auto, retry, uring or native (implies -A);
	    an unknown name is an error. (-E is the C fsx's: no copy_file_range calls.)
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

Numbers are C's (0x hex, 0 octal, suffix b k m w); unlike the C fsx, text after
a number, a value that would wrap and -l beyond this machine's memory are errors
(exit 90), as are an empty -k file and every other value the C tool rejects.
Signals end the run as in the C fsx: HUP INT PIPE ALRM TERM XCPU XFSZ VTALRM USR1
USR2 print "signal N" and "testcalls = N" and exit N (a write past ulimit -f is
SIGXFSZ: exit 25). A mapped read or write the file system cannot back (a full
tmpfs) kills the C fsx with SIGBUS; here it prints one line saying which op and
offset, and then dies of SIGBUS too (shell status 135).
`
