package kaio

import (
	"fmt"

	"golang.org/x/sys/unix"
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
		if e, ok := err.(unix.Errno); ok && unix.ErrnoName(e) != "" {
			reason += " (" + unix.ErrnoName(e) + ")"
		}
	}
	return &SetupError{NrEvents: nr, Engine: eng, Reason: reason, Err: err}
}
