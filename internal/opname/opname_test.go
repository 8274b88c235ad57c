package opname

import "testing"

func TestString(t *testing.T) {
	for o, want := range map[int]string{0: "pread", 1: "pwrite", 2: "fsync", 3: "fdsync", 4: "op(4)", 5: "poll", 6: "noop", 7: "preadv", 8: "pwritev", 9: "op(9)", -1: "op(-1)", 65535: "op(65535)"} {
		if got := String(o); got != want {
			t.Errorf("String(%d) = %q, want %q", o, got, want)
		}
	}
}
