package kaio

import (
	"fmt"
	"strconv"
	"syscall"
)

// SetupError is why Setup refused to create a context: the errno, and in
// words the limit it hit with its current value (fs.aio-max-nr and
// fs.aio-nr, RLIMIT_MEMLOCK, kernel.io_uring_disabled, a seccomp filter,
// the 1<<20 bound on nrEvents). errors.Is(err, unix.EAGAIN) and the like
// hold for the errno.
type SetupError struct {
	NrEvents int    // the nrEvents Setup was given
	Engine   Engine // the engine asked for, or the one auto resolved to
	Reason   string // what was hit, with the values that decided it
	Err      error  // the errno: EINVAL, EAGAIN, ENOMEM, EPERM, ENOSYS, ...
}

// Error reads "kaio: Setup(65536) on engine native: io_setup for 65600
// events: more than fs.aio-max-nr (65536) allows ... (EAGAIN)".
func (e *SetupError) Error() string {
	return fmt.Sprintf("kaio: Setup(%d) on engine %v: %s", e.NrEvents, e.Engine, e.Reason)
}

// Unwrap returns the errno.
func (e *SetupError) Unwrap() error { return e.Err }

// setupError wraps an engine's refusal with the reason its probe gives for
// that errno (which says the errno's name), or the errno's own text.
func setupError(nr int, eng Engine, reason string, err error) *SetupError {
	if reason == "" {
		reason = err.Error()
		if e, ok := err.(syscall.Errno); ok && errnoName(e) != "" {
			reason += " (" + errnoName(e) + ")"
		}
	}
	return &SetupError{NrEvents: nr, Engine: eng, Reason: reason, Err: err}
}

// SubmitError is why Submit refused an iocb: which one, the errno, and in
// words what decided it ("O_DIRECT buffer address 0xc000123001 not aligned
// to 512 bytes", "fd 7 not open for reading", "ring full (64 in flight or
// unreaped)"). errors.Is(err, unix.EINVAL) and the like hold for the
// errno. The words are made when Error is called, not when Submit refuses.
type SubmitError struct {
	// Index is the refused iocb's position in Submit's arguments: Submit
	// accepted the Index iocbs before it and returned Index.
	Index int
	// Iocb is the refused iocb, Submit's argument at Index (nil if that
	// was nil).
	Iocb *Iocb
	// Err is the errno: EAGAIN (ring full), EBADF (fd not open, or not
	// for that direction), EINVAL (everything else Submit checks).
	Err error

	cause error // the engine's refusal, which has the words
}

// Error reads "kaio: Submit: iocbs[3] refused: negative offset -1 (EINVAL)".
func (e *SubmitError) Error() string {
	return "kaio: Submit: iocbs[" + strconv.Itoa(e.Index) + "] refused: " + submitReason(e.cause)
}

// Unwrap returns the errno.
func (e *SubmitError) Unwrap() error { return e.Err }
