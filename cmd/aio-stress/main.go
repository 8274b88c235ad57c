//go:build linux

// Command aio-stress is the classic aio-stress (xfstests ltp/aio-stress.c)
// on kaio: the same flags, stages, output lines and random offsets, on any
// kaio engine (-E), with latency percentiles (-l, -L) and JSON results
// (-json). See internal/stress for what it does and which of the classic's
// bugs it fixes, and aio-stress -h for the flags.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/kaio-go/kaio/internal/stress"
	"golang.org/x/sys/unix"
)

func main() {
	cfg, err := stress.ParseArgs(os.Args[1:])
	switch {
	case errors.Is(err, stress.ErrHelp):
		// The classic prints its usage on stdout and exits 1.
		stress.Usage(os.Stdout)
		os.Exit(stress.ExitFail)
	case errors.Is(err, stress.ErrLongHelp):
		stress.Usage(os.Stdout)
		os.Exit(stress.ExitOK)
	case err != nil:
		fmt.Fprintf(os.Stderr, "aio-stress: %v\n", err)
		os.Exit(stress.ExitFail)
	}
	// The progress line rewrites itself with \r: only on a terminal.
	_, terr := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS)
	cfg.Progress = terr == nil
	os.Exit(stress.Run(cfg, os.Stdout, os.Stderr))
}
