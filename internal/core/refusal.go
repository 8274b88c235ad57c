//go:build linux

package core

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Refusal is why an engine refused an iocb at Submit: the errno, and what
// decided it, kept as a code and the values it names. The words are made
// only when someone reads them (kaio.SubmitError.Error), so a refusal costs
// one small allocation at most, and an accepted iocb none. Engines return
// a *Refusal as the error of Submit; errors.Is(err, unix.EINVAL) and the
// like hold through Unwrap.
type Refusal struct {
	Errno unix.Errno
	Why   Why
	// Vec is the index in Iov of the buffer the reason is about, or -1
	// when it is about Buf (or no buffer).
	Vec  int
	A, B int64 // the values the reason names, as Why says
}

// Why is what decided a refusal.
type Why uint8

// The reasons, each with what A and B hold.
const (
	WhyErrno         Why = iota // the errno says it all (a failed dup: EMFILE)
	WhyNilIocb                  // a nil *Iocb
	WhyOp                       // A: the unknown op
	WhyFlags                    // A: Flags with bits kaio does not know
	WhyRWFlags                  // A: RWFlags with bits Linux does not define
	WhyRWFlagsOp                // A: RWFlags on an op that takes none, B: the op
	WhyIovMax                   // A: len(Iov), over UIO_MAXIOV
	WhyResFdBad                 // A: ResFd, not an open fd
	WhyResFdKind                // A: ResFd, open but not an eventfd
	WhyFdBad                    // A: Fd, not an open fd
	WhyNotRead                  // A: Fd, not open for reading
	WhyNotWrite                 // A: Fd, not open for writing
	WhyOffset                   // A: the negative offset
	WhyDirectOff                // A: the offset, B: the O_DIRECT alignment it misses
	WhyDirectAddr               // A: the buffer's address, B: the alignment it misses
	WhyDirectLen                // A: the buffer's length, B: the alignment it misses
	WhyRingFull                 // A: the ring's size (nrEvents)
	WhyInFlight                 // the same *Iocb is in flight already
	WhyDestroyed                // the context was destroyed
	WhyFixedBad                 // A: Fd, an index with no registered file, B: how many slots there are
	WhyFixedNotRead             // A: Fd, the index of a file not open for reading
	WhyFixedNotWrite            // A: Fd, the index of a file not open for writing
)

// Refuse returns the refusal of errno e for reason why, naming a and b.
func Refuse(e unix.Errno, why Why, a, b int64) *Refusal {
	return &Refusal{Errno: e, Why: why, Vec: -1, A: a, B: b}
}

// The refusals that name no value are made once.
var (
	errInFlight  = Refuse(unix.EINVAL, WhyInFlight, 0, 0)
	errDestroyed = Refuse(unix.EINVAL, WhyDestroyed, 0, 0)
)

// ErrInFlight is the refusal of an iocb that is in flight already.
func ErrInFlight() error { return errInFlight }

// ErrDestroyed is the refusal of an iocb submitted to a destroyed context.
func ErrDestroyed() error { return errDestroyed }

// Error says why, as "O_DIRECT buffer address 0xc000123001 not aligned to
// 512 bytes (EINVAL)".
func (r *Refusal) Error() string {
	s := r.reason()
	if r.Vec >= 0 {
		s = fmt.Sprintf("Iov[%d]: %s", r.Vec, s)
	}
	if n := unix.ErrnoName(r.Errno); n != "" {
		s += " (" + n + ")"
	}
	return s
}

// reasons are the words for each Why, a format for fmt.Sprintf with the
// arguments A, B, Op(B) and uint64(A), picked by index.
var reasons = [...]string{
	WhyNilIocb:       "nil iocb",
	WhyOp:            "unknown op %[1]d",
	WhyFlags:         "unknown Flags %#[1]x (FlagResFd 0x1 and FlagFixedFile 0x2 are the flags)",
	WhyRWFlags:       "unknown RWFlags %#[1]x",
	WhyRWFlagsOp:     "RWFlags %#[1]x on %[3]v, which takes none",
	WhyIovMax:        "%[1]d iovecs, more than UIO_MAXIOV (1024)",
	WhyResFdBad:      "ResFd %[1]d not open",
	WhyResFdKind:     "ResFd %[1]d is not an eventfd",
	WhyFdBad:         "fd %[1]d not open",
	WhyNotRead:       "fd %[1]d not open for reading",
	WhyNotWrite:      "fd %[1]d not open for writing",
	WhyOffset:        "negative offset %[1]d",
	WhyDirectOff:     "O_DIRECT offset %[1]d not aligned to %[2]d bytes",
	WhyDirectAddr:    "O_DIRECT buffer address %#[4]x not aligned to %[2]d bytes",
	WhyDirectLen:     "O_DIRECT buffer length %[1]d not a multiple of %[2]d bytes",
	WhyRingFull:      "ring full (%[1]d in flight or unreaped)",
	WhyInFlight:      "iocb already in flight",
	WhyDestroyed:     "context destroyed",
	WhyFixedBad:      "FlagFixedFile: no registered file at index %[1]d (%[2]d slots registered)",
	WhyFixedNotRead:  "registered file %[1]d not open for reading",
	WhyFixedNotWrite: "registered file %[1]d not open for writing",
}

func (r *Refusal) reason() string {
	if int(r.Why) >= len(reasons) || reasons[r.Why] == "" {
		return r.Errno.Error() // WhyErrno
	}
	f := reasons[r.Why]
	if !strings.Contains(f, "%") {
		return f
	}
	return fmt.Sprintf(f, r.A, r.B, Op(r.B), uint64(r.A))
}

// Unwrap returns the errno.
func (r *Refusal) Unwrap() error { return r.Errno }

// Errno is the errno of an engine's error: a unix.Errno itself, a
// *Refusal's, or one that err wraps; EINVAL if there is none.
func Errno(err error) unix.Errno {
	switch e := err.(type) {
	case unix.Errno:
		return e
	case *Refusal:
		return e.Errno
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EINVAL
}

// Reason is what an engine's refusal says, for kaio.SubmitError: a
// *Refusal's words, or an errno's text and name.
func Reason(err error) string {
	switch e := err.(type) {
	case *Refusal:
		return e.Error()
	case unix.Errno:
		return (&Refusal{Errno: e, Vec: -1}).Error()
	}
	return err.Error()
}
