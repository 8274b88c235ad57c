//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

var setupCases = []Case{
	{"Setup/NonPositive", func(t *testing.T, e *Env) {
		for _, nr := range []int{0, -1, -1 << 30} {
			c, err := kaio.Setup(nr, e.Opts...)
			if c != nil || !errors.Is(err, unix.EINVAL) {
				t.Fatalf("Setup(%d) = %v, %v; want EINVAL", nr, c, err)
			}
		}
	}},
	{"Setup/EngineIsConcrete", func(t *testing.T, e *Env) {
		c := e.Setup(1)
		if c.Engine() == kaio.EngineAuto {
			t.Fatal("Engine() reports auto, not the engine chosen")
		}
	}},
}

var submitCases = []Case{
	{"Submit/RingFullCountsInFlight", func(t *testing.T, e *Env) {
		const nr = 4
		c := e.Setup(nr)
		r, w := pipe(t)
		bufs := make([][]byte, nr)
		iocbs := make([]*kaio.Iocb, nr)
		for i := range iocbs {
			bufs[i] = make([]byte, 1)
			iocbs[i] = &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: bufs[i], Data: uint64(i)}
		}
		submit(t, c, iocbs...)
		extra := &kaio.Iocb{Op: kaio.OpNoop}
		n, err := c.Submit(extra)
		if n != 0 || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Submit past nrEvents in flight: %d, %v; want 0, EAGAIN", n, err)
		}
		refused(t, err, 0, extra, "ring full (4 in flight or unreaped) (EAGAIN)")
		unix.Write(w, make([]byte, nr))
		reap(t, c, nr)
		submit(t, c, extra)
		reap(t, c, 1)
	}},
	{"Submit/RingFullCountsUnreaped", func(t *testing.T, e *Env) {
		const nr = 3
		c := e.Setup(nr)
		iocbs := []*kaio.Iocb{{Op: kaio.OpNoop}, {Op: kaio.OpNoop}, {Op: kaio.OpNoop}, {Op: kaio.OpNoop}}
		n, err := c.Submit(iocbs...)
		if n != nr || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Submit of %d into %d: %d, %v; want %d, EAGAIN", len(iocbs), nr, n, err, nr)
		}
		refused(t, err, 3, iocbs[3], "kaio: Submit: iocbs[3] refused: ring full (3 in flight or unreaped) (EAGAIN)")
		// Completed but unreaped still hold their slots.
		if n, err := c.Submit(iocbs[3]); n != 0 || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Submit with the ring full of unreaped events: %d, %v", n, err)
		}
		evs := reap(t, c, nr)
		for i, ev := range evs {
			if ev.Res != 0 || ev.Obj == nil {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		submit(t, c, iocbs[3])
		reap(t, c, 1)
	}},
	{"Submit/StopsAtFirstRefused", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		good := &kaio.Iocb{Op: kaio.OpNoop, Data: 1}
		bad := &kaio.Iocb{Op: kaio.Op(99), Data: 2}
		after := &kaio.Iocb{Op: kaio.OpNoop, Data: 3}
		n, err := c.Submit(good, bad, after)
		if n != 1 || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Submit(good, bad, good) = %d, %v; want 1, EINVAL", n, err)
		}
		refused(t, err, 1, bad, "kaio: Submit: iocbs[1] refused: unknown op 99 (EINVAL)")
		evs := reap(t, c, 1)
		if evs[0].Data != 1 || evs[0].Obj != good {
			t.Fatalf("event %+v, want the first iocb's", evs[0])
		}
		// The refused and the following iocbs were not taken: they can be
		// submitted again.
		submit(t, c, after)
		reap(t, c, 1)
	}},
	{"Submit/Empty", func(t *testing.T, e *Env) {
		c := e.Setup(1)
		if n, err := c.Submit(); n != 0 || err != nil {
			t.Fatalf("Submit() = %d, %v", n, err)
		}
	}},
	{"Submit/Errnos", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		f := tempFile(t, pattern(8192, 1), 0)
		ro, err := os.Open(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		wo, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer wo.Close()
		const cfd = 1<<31 - 1 // never open: above any RLIMIT_NOFILE
		buf := make([]byte, 512)
		inflight := &kaio.Iocb{Op: kaio.OpPRead}
		r, _ := pipe(t)
		inflight.Fd, inflight.Buf = r, make([]byte, 1)
		submit(t, c, inflight)
		for _, tc := range []struct {
			name string
			iocb *kaio.Iocb
			want unix.Errno
			why  string // what the error says, after "refused: "
		}{
			{"nil iocb", nil, unix.EINVAL, "nil iocb (EINVAL)"},
			{"unknown op 4", &kaio.Iocb{Op: 4, Fd: fd(f)}, unix.EINVAL, "unknown op 4 (EINVAL)"},
			{"unknown op 99", &kaio.Iocb{Op: 99, Fd: fd(f)}, unix.EINVAL, "unknown op 99 (EINVAL)"},
			{"negative offset", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, Offset: -1}, unix.EINVAL, "negative offset -1 (EINVAL)"},
			{"unknown flags", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, Flags: 4}, unix.EINVAL, "unknown Flags 0x4 (FlagResFd 0x1 and FlagFixedFile 0x2 are the flags) (EINVAL)"},
			{"unknown rw flags", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: buf, RWFlags: 1 << 30}, unix.EINVAL, "unknown RWFlags 0x40000000 (EINVAL)"},
			{"rw flags on fsync", &kaio.Iocb{Op: kaio.OpFSync, Fd: fd(f), RWFlags: unix.RWF_DSYNC}, unix.EINVAL, "RWFlags 0x2 on fsync, which takes none (EINVAL)"},
			{"too many iovecs", &kaio.Iocb{Op: kaio.OpPReadv, Fd: fd(f), Iov: make([][]byte, 1025)}, unix.EINVAL, "1025 iovecs, more than UIO_MAXIOV (1024) (EINVAL)"},
			{"closed fd", &kaio.Iocb{Op: kaio.OpPRead, Fd: cfd, Buf: buf}, unix.EBADF, "fd 2147483647 not open (EBADF)"},
			{"negative fd", &kaio.Iocb{Op: kaio.OpPWrite, Fd: -1, Buf: buf}, unix.EBADF, "fd -1 not open (EBADF)"},
			{"fsync of closed fd", &kaio.Iocb{Op: kaio.OpFSync, Fd: cfd}, unix.EBADF, "fd 2147483647 not open (EBADF)"},
			{"poll of closed fd", &kaio.Iocb{Op: kaio.OpPoll, Fd: cfd, Events: unix.POLLIN}, unix.EBADF, "fd 2147483647 not open (EBADF)"},
			{"write to read-only fd", &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(ro), Buf: buf}, unix.EBADF, fmt.Sprintf("fd %d not open for writing (EBADF)", fd(ro))},
			{"writev to read-only fd", &kaio.Iocb{Op: kaio.OpPWritev, Fd: fd(ro), Iov: [][]byte{buf}}, unix.EBADF, fmt.Sprintf("fd %d not open for writing (EBADF)", fd(ro))},
			{"read from write-only fd", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(wo), Buf: buf}, unix.EBADF, fmt.Sprintf("fd %d not open for reading (EBADF)", fd(wo))},
			{"closed resfd", &kaio.Iocb{Op: kaio.OpNoop, Flags: kaio.FlagResFd, ResFd: cfd}, unix.EBADF, "ResFd 2147483647 not open (EBADF)"},
			{"resfd not an eventfd", &kaio.Iocb{Op: kaio.OpNoop, Flags: kaio.FlagResFd, ResFd: fd(f)}, unix.EINVAL, fmt.Sprintf("ResFd %d is not an eventfd (EINVAL)", fd(f))},
			{"already in flight", inflight, unix.EINVAL, "iocb already in flight (EINVAL)"},
		} {
			n, err := c.Submit(tc.iocb)
			if n != 0 || !errors.Is(err, tc.want) {
				t.Errorf("%s: Submit = %d, %v; want 0, %v", tc.name, n, err, tc.want)
				continue
			}
			refused(t, err, 0, tc.iocb, "kaio: Submit: iocbs[0] refused: "+tc.why)
		}
		if s := c.Stats(); s.InFlight != 1 {
			t.Fatalf("refused iocbs left state behind: %+v", s)
		}
	}},
	{"Submit/SameIocbTwiceInOneCall", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}
		n, err := c.Submit(io, io)
		if n != 1 || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Submit(io, io) = %d, %v; want 1, EINVAL", n, err)
		}
		refused(t, err, 1, io, "iocbs[1] refused: iocb already in flight (EINVAL)")
		unix.Write(w, []byte{1})
		reap(t, c, 1)
		// Once completed it may be submitted again.
		submit(t, c, io)
		unix.Write(w, []byte{2})
		reap(t, c, 1)
	}},
	{"Submit/InFlightOnOtherContext", func(t *testing.T, e *Env) {
		a, b := e.Setup(2), e.Setup(2)
		r, w := pipe(t)
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 1)}
		submit(t, a, io)
		n, err := b.Submit(io)
		if n != 0 || !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Submit on a second context of an iocb in flight: %d, %v", n, err)
		}
		refused(t, err, 0, io, "iocb already in flight (EINVAL)")
		if err := b.Cancel(io); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("Cancel on the wrong context: %v, want EINVAL", err)
		}
		unix.Write(w, []byte{1})
		reap(t, a, 1)
	}},
	{"Submit/DirectAlignment", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		f := directFile(t, 1<<16)
		al := alignedBuf(8192, 4096)
		for _, tc := range []struct {
			name string
			iocb *kaio.Iocb
			why  *regexp.Regexp
		}{
			{"unaligned buffer", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: al[1:4097]},
				regexp.MustCompile(`refused: O_DIRECT buffer address 0x[0-9a-f]*[13579bdf] not aligned to [0-9]+ bytes \(EINVAL\)$`)},
			{"unaligned length", &kaio.Iocb{Op: kaio.OpPRead, Fd: fd(f), Buf: al[:100]},
				regexp.MustCompile(`refused: O_DIRECT buffer length 100 not a multiple of [0-9]+ bytes \(EINVAL\)$`)},
			{"unaligned offset", &kaio.Iocb{Op: kaio.OpPWrite, Fd: fd(f), Buf: al[:4096], Offset: 3},
				regexp.MustCompile(`refused: O_DIRECT offset 3 not aligned to [0-9]+ bytes \(EINVAL\)$`)},
			{"unaligned iovec", &kaio.Iocb{Op: kaio.OpPReadv, Fd: fd(f), Iov: [][]byte{al[:4096], al[4096+1 : 4096+513]}},
				regexp.MustCompile(`refused: Iov\[1\]: O_DIRECT buffer address 0x[0-9a-f]+ not aligned to [0-9]+ bytes \(EINVAL\)$`)},
		} {
			n, err := c.Submit(tc.iocb)
			if n != 0 || !errors.Is(err, unix.EINVAL) {
				t.Errorf("O_DIRECT %s: Submit = %d, %v; want EINVAL", tc.name, n, err)
				continue
			}
			refused(t, err, 0, tc.iocb, "")
			if !tc.why.MatchString(err.Error()) {
				t.Errorf("O_DIRECT %s: %q does not match %v", tc.name, err, tc.why)
			}
		}
	}},
}

// refused fails unless err is a *kaio.SubmitError for iocbs[index], which
// is iocb, whose message contains why.
func refused(t *testing.T, err error, index int, iocb *kaio.Iocb, why string) {
	t.Helper()
	var se *kaio.SubmitError
	if !errors.As(err, &se) {
		t.Errorf("Submit's error %v is a %T, not a *kaio.SubmitError", err, err)
		return
	}
	if se.Index != index || se.Iocb != iocb || !errors.Is(err, se.Err) {
		t.Errorf("%v: Index %d, Iocb %p, Err %v; want %d, %p", err, se.Index, se.Iocb, se.Err, index, iocb)
	}
	if !strings.Contains(err.Error(), why) {
		t.Errorf("Submit's error %q does not say %q", err, why)
	}
}

// directFile opens a file of size bytes with O_DIRECT, or skips.
func directFile(t *testing.T, size int) *os.File {
	t.Helper()
	f := tempFile(t, pattern(size, 9), 0)
	d, err := os.OpenFile(f.Name(), os.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT not supported here: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// alignedBuf returns n bytes aligned to align.
func alignedBuf(n, align int) []byte {
	b := make([]byte, n+align)
	off := 0
	for addr(b[off:])%uintptr(align) != 0 {
		off++
	}
	return b[off : off+n : off+n]
}
