// Package opname names iocb opcodes for kaio.Op (built on every platform)
// and internal/core's Op (Linux only), so that both say the same.
package opname

import "strconv"

var names = [...]string{
	0: "pread", 1: "pwrite", 2: "fsync", 3: "fdsync",
	5: "poll", 6: "noop", 7: "preadv", 8: "pwritev",
}

// String names opcode o as the kernel's IOCB_CMD_ names do, in lower case
// ("pread", "poll", ...), and any other number as "op(N)".
func String(o int) string {
	if o >= 0 && o < len(names) && names[o] != "" {
		return names[o]
	}
	return "op(" + strconv.Itoa(o) + ")"
}
