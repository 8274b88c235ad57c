//go:build linux

package fsx

import (
	"time"

	"github.com/kaio-go/kaio"
)

// Config is one fsx run: the C fsx's option globals, named after its flags.
// DefaultConfig gives the C defaults; ParseArgs fills one from a command
// line.
type Config struct {
	File string   // the test file (the one operand)
	Args []string // the command line it came from, for the rerun hint on failure

	SimulatedOps  int64  // -b N: ops before N are simulated (N-1)
	CloseProb     int    // -c P: 1 in P chance of close+open per op
	Debug         bool   // -d
	PolluteEOF    bool   // -e 1
	Flush         bool   // -f: msync(MS_INVALIDATE) after each write
	FillData      byte   // -g X (0: generated data)
	HugePages     bool   // -h
	LogDev        string // -i logdev: integrity mode
	LogID         string // -j id: prefix of output lines
	KeepFile      bool   // -k: keep the file, its size bounds the file size
	MaxFileLen    uint64 // -l
	MonitorStart  int64  // -m start:end (-1: none)
	MonitorEnd    int64
	NoSizeChecks  bool          // -n
	MaxOpLen      int           // -o
	Progress      int64         // -p N
	Quiet         bool          // -q
	ReadBdy       int           // -r
	Style         int           // -s
	TruncBdy      int           // -t
	NoUnshare     bool          // -u
	WriteBdy      int           // -w
	Prealloc      bool          // -x: reserve maxfilelen of space first (XFS_IOC_RESVSP)
	Fsync         bool          // -y: fsync after every write
	NoAtomic      bool          // -a
	DebugStart    int64         // -D N
	NoFallocate   bool          // -F
	NoKeepSize    bool          // -K
	NoPunchHole   bool          // -H
	NoZeroRange   bool          // -z
	NoCollapse    bool          // -C
	NoInsert      bool          // -I
	NoExchange    bool          // -0
	NoClone       bool          // -J
	NoDedupe      bool          // -B
	NoCopyRange   bool          // -E
	Lite          bool          // -L
	NumOps        int64         // -N (-1: forever)
	FixedOpLen    bool          // -O
	Dir           string        // -P
	NoMapReads    bool          // -R
	Seed          int           // -S (already resolved when it was 0)
	NoMapWrites   bool          // -W
	CheckFile     bool          // -X
	Direct        bool          // -Z: O_DIRECT
	ReplayOps     string        // --replay-ops=F
	RecordOps     bool          // --record-ops[=F]
	RecordOpsFile string        // its F, if given
	Duration      time.Duration // --duration=S (0: not set)

	// AIO sends reads and writes through a kaio context (-A, -U, --engine)
	// on Engine.
	AIO    bool
	Engine kaio.Engine

	// Banner holds the lines the C fsx prints while it parses its options
	// ("Will begin at operation ...", "mapped writes DISABLED"); Run prints
	// them first, on stdout only, as the C tool does before its log opens.
	Banner []string

	// afterOp, when set (tests), runs after each operation with the
	// operation's number: the way to corrupt the file behind fsx's back.
	afterOp func(testcalls int64)
}

// DefaultConfig is the C fsx's defaults.
func DefaultConfig() *Config {
	return &Config{
		MaxFileLen:   256 * 1024,
		MonitorStart: -1,
		MonitorEnd:   -1,
		MaxOpLen:     64 * 1024,
		ReadBdy:      1,
		TruncBdy:     1,
		WriteBdy:     1,
		NumOps:       -1,
		Seed:         1,
	}
}
