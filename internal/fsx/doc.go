//go:build linux

// Package fsx is the file system exerciser of xfstests (ltp/fsx.c) in Go,
// with its reads and writes optionally sent through a kaio context.
//
// It keeps the C tool's interface and behaviour so that its results can be
// compared with the C tool's: the same flags (ParseArgs), the same glibc
// random() stream drawn in the same order (so the same seed and flags on the
// same file system give the same operations and the same -d lines), the same
// runtime probes that disable what the file system cannot do, the same
// output lines, the same .fsxgood/.fsxlog/.fsxops files, and the same exit
// codes. What differs is where reads and writes go: with Config.AIO they are
// kaio iocbs on the engine of Config.Engine (the C tool's -A used libaio
// and -U liburing).
//
// The exerciser keeps an image of what the file should hold (good_buf),
// applies each random operation to both the file and the image, and checks
// every read against the image. A difference is "READ BAD DATA" (exit 110)
// with the table of bad offsets and a dump of the last operations.
//
// Where the C tool crashes or misreads its input, this one says why in one
// line and exits with the C tool's code instead: a number with trailing
// text or one that would wrap a C int, -l larger than the machine's
// memory (the C tool segfaults on its unchecked malloc), an empty -k file
// (SIGFPE in C) are usage errors, 90. -E is only ever the C tool's "no
// copy_file_range"; the kaio engine is named by --engine=NAME alone, and an
// unknown name is an error.
//
// Signals end a run as they end the C tool's (signal_linux.go): a write,
// truncate or fallocate past ulimit -f raises SIGXFSZ, and the run ends
// with "signal 25", "testcalls = N" and exit 25 before the failed call is
// reported, as the C tool's handler does. A fault in a mapping of the file
// (SIGBUS: a full tmpfs cannot provide a page) kills the C tool; here it
// is recovered (debug.SetPanicOnFault), reported in one line naming the
// operation and the file offset, and Exit then dies of SIGBUS, so that the
// wait status is the C tool's. Never a Go panic or goroutine dump.
package fsx
