//go:build linux

// Command fsx is the file system exerciser of xfstests (ltp/fsx.c) with
// its I/O optionally through kaio: the same flags, op stream, output and
// exit codes as the C tool; -A sends reads and writes through a kaio
// context on the engine of --engine (auto, retry, uring, native), -U on
// io_uring. -E is the C tool's "no copy_file_range". See internal/fsx.
//
//	fsx -N 10000 -S 7 /mnt/test/fsxfile
//	fsx -A --engine=retry -Z -R -W -r 4096 -w 4096 -t 4096 -N 20000 /mnt/test/f
//	fsx --list-engines
package main

import (
	"os"

	"github.com/kaio-go/kaio/internal/fsx"
)

func main() {
	fsx.Exit(fsx.Main(os.Args[1:], os.Stdout, os.Stderr))
}
