//go:build linux

// Package stress is the engine of cmd/aio-stress: the classic aio-stress
// (xfstests ltp/aio-stress.c, version 0.21) rebuilt on kaio. It keeps the
// classic's flags, stages, output lines and random offsets, fixes the
// classic's bugs, and adds engine choice, latency percentiles, JSON results
// and a progress line.
//
// The classic's bugs, fixed here (cmd/aio-stress/README.md says more):
//   - -C falls through into -b in the classic's getopt switch and also sets
//     max_io_submit to atoi(arg): -C 2m gives batches of 2. -C sets only
//     the context offset.
//   - -I is documented as "total IOs" but counts rounds of the submit loop,
//     and a stage it cuts leaves ios in flight, never reaped ("global num
//     pending is N"), and with several threads can hang the stage barrier.
//     Here it counts rounds (documented so), the cut stage is waited for
//     and counted like a stonewalled one, and the run ends after it.
//   - Completion latencies (-L) are printed before the stage's last reap, so
//     up to depth completions fall into the next stage; they are printed
//     after it.
//   - "min transfer" compares the last thread with itself; it is the
//     minimum over threads.
//   - Random offsets pass the end of a context's range when it is under
//     2 MiB; they are folded back into the range. For larger ranges the
//     offsets are the classic's, draw for draw.
//   - A file that cannot be opened is an assert (exit 134); bad numbers
//     and sizes are atoi()'d ("12x" is 12, "abc" is 0); -s 1 is refused
//     ("too small for 1 contexts"); a record larger than the file runs
//     nothing. Each is one line naming the problem and exit 1 here.
//   - Short or failed writes are not checked, and verify mismatches and
//     io errors in multi-thread runs do not change the exit status. Each
//     makes the exit status 1 here.
//   - Out of space, the classic reports a throughput for every io it
//     started and exits 0. Here a run that writes is warned about before
//     it starts when a file system has less free space than -s needs
//     (space.go), each file and context prints its first failed io, and a
//     stage with failed ios reports the bytes done and how many failed,
//     with no throughput.
//   - Between stages the classic walks the finished list while moving opers
//     off it and can fsync and count an oper twice.
//
// The state machine follows the C tool closely, because the order in which
// it builds iocbs decides which rand() value goes to which file, and so
// which offsets the random stages touch: per thread a ring of "opers" (one
// per file and context), io_iter iocbs built for each in turn, one Submit
// of up to max_io_submit iocbs, completions reaped when no io unit is free.
package stress

import (
	"fmt"

	"github.com/kaio-go/kaio"
)

// The stages, numbered as the classic's -o values.
const (
	StageWrite = iota
	StageRead
	StageRandomWrite
	StageRandomRead
	numStages
)

var stageNames = [numStages]string{"write", "read", "random write", "random read"}

// StageName is the name the classic prints for a stage ("write", "read",
// "random write", "random read").
func StageName(s int) string {
	if s >= 0 && s < numStages {
		return stageNames[s]
	}
	return "unknown"
}

// Mem says where the I/O buffers come from (-m).
type Mem int

// The buffer sources: anonymous memory (the classic's malloc), a SysV shm
// segment (-m shm) or a mapped file in /dev/shm (-m shmfs).
const (
	MemMalloc Mem = iota
	MemSHM
	MemSHMFS
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

// Config is one run. ParseArgs fills it from the classic's flags; Default
// gives the classic's defaults.
type Config struct {
	Files         []string // one or more files, each opened once per context
	FileSize      int64    // -s, bytes
	RecLen        int64    // -r, bytes per I/O
	Align         int64    // -a, buffer (and random offset) alignment; a power of two
	Depth         int      // -d, io units per file and context
	IOIter        int      // -i, iocbs built for one oper before moving to the next
	MaxIOSubmit   int      // -b, iocbs per Submit; 0: files*contexts*IOIter
	Contexts      int      // -c, opers per file
	ContextOffset int64    // -C, bytes between contexts
	Iterations    int      // -I, submit rounds per stage; 0: no limit
	Stages        []int    // -o, in the order given (duplicates allowed); empty: all four
	ODirect       bool     // -O
	OSync         bool     // -S
	Mem           Mem      // -m
	NoFsync       bool     // -n
	SubmitLat     bool     // -l
	CompletionLat bool     // -L
	Threads       int      // -t
	Unlink        bool     // -u
	Verify        bool     // -v
	NoStonewall   bool     // -x
	Engine        kaio.Engine
	JSON          bool // -json: one JSON object per stage on stdout
	Progress      bool // a progress line once a second (set when stderr is a terminal)

	// afterRead, if set, is called on each completed read's buffer before it
	// is verified: tests use it to corrupt what was read.
	afterRead func(buf []byte, off int64)
	// onBuild, if set, is called with each iocb's oper (numbered in the
	// order the files and contexts are opened), stage and offset as it is
	// built: tests compare the offsets with the classic's.
	onBuild func(oper, stage int, off int64)
}

// Default returns the classic's defaults: 1 GiB files, 64 KiB records,
// depth 64, 8 ios per iteration, one context and one thread, all stages.
func Default() Config {
	return Config{
		FileSize:      1024 * mib,
		RecLen:        64 * kib,
		Align:         4096,
		Depth:         64,
		IOIter:        8,
		Contexts:      1,
		ContextOffset: 2 * mib,
		Threads:       1,
		Engine:        kaio.EngineAuto,
	}
}

// stageMask is the set of stages to run.
func (c *Config) stageMask() uint {
	if len(c.Stages) == 0 {
		return 1<<numStages - 1
	}
	var m uint
	for _, s := range c.Stages {
		m |= 1 << s
	}
	return m
}

// validate rejects what the classic would assert on, loop on, or do outside
// the file. Each error is one line naming the problem.
func (c *Config) validate() error {
	switch {
	case len(c.Files) == 0:
		return fmt.Errorf("no file given (see -h)")
	case c.FileSize <= 0:
		return fmt.Errorf("file size must be positive")
	case c.RecLen <= 0:
		return fmt.Errorf("record size must be positive")
	case c.RecLen > c.FileSize:
		return fmt.Errorf("record size %d bytes is larger than the file size %d bytes", c.RecLen, c.FileSize)
	case c.RecLen > 1<<30:
		return fmt.Errorf("record size %d bytes is over 1 GiB", c.RecLen)
	case c.Align <= 0 || c.Align&(c.Align-1) != 0:
		return fmt.Errorf("buffer alignment %d bytes is not a power of two", c.Align)
	case c.Align > 1<<30:
		return fmt.Errorf("buffer alignment %d bytes is over 1 GiB", c.Align)
	case c.Depth <= 0, c.IOIter <= 0, c.Contexts <= 0, c.Threads <= 0:
		return fmt.Errorf("-d, -i, -c and -t must be positive")
	case c.MaxIOSubmit < 0, c.Iterations < 0, c.ContextOffset < 0:
		return fmt.Errorf("-b, -I and -C must not be negative")
	}
	for _, s := range c.Stages {
		if s < 0 || s >= numStages {
			return fmt.Errorf("unknown stage %d for -o (want 0 write, 1 read, 2 random write, 3 random read)", s)
		}
	}
	// Context j covers [j*C, size-j*C); one whose range is empty does
	// nothing. The classic refuses size < contexts*C, which refuses -s 1
	// with a single context (whose offset is 0); this refuses only a
	// context that would start past the end of the file.
	if last := int64(c.Contexts - 1); c.FileSize < last*c.ContextOffset {
		return fmt.Errorf("file size %d too small for %d contexts", c.FileSize, c.Contexts)
	}
	// Buffers: every oper gets Depth records; refuse what cannot be
	// addressed before trying to map it.
	opers := int64(len(c.Files)) * int64(c.Contexts)
	if opers > 1<<20 || int64(c.Depth) > 1<<20 || opers*int64(c.Depth) > 1<<22 {
		return fmt.Errorf("too many io units: %d files*contexts at depth %d", opers, c.Depth)
	}
	if pad := padded(c.RecLen, c.Align); float64(opers)*float64(c.Depth)*float64(pad) > 1<<46 {
		return fmt.Errorf("io buffers of %d x %d x %d bytes are too large", opers, c.Depth, pad)
	}
	return nil
}

// padded rounds a record up to the buffer alignment, as the classic pads
// each io unit's buffer.
func padded(rec, align int64) int64 { return (rec + align - 1) &^ (align - 1) }
