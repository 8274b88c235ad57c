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
package fsx
