//go:build linux

package retry

// devIno names a file across fd numbers (which may be closed and reused).
type devIno struct{ dev, ino uint64 }
