// Package kaio is asynchronous I/O for Go, built on the design of Linux's
// AIO subsystem (fs/aio.c): a Context has a bounded completion ring; iocbs
// are submitted in batches; events are reaped with a minimum, a maximum and
// a timeout; requests can be cancelled; Destroy ends everything in order.
//
// Most programs want File (Open, OpenFile, NewFile): an os.File look-alike
// whose methods any number of goroutines may call at once. Their reads and
// writes go to the kernel batched onto one Context (by default a shared
// one, made at first use), each caller sleeping as a goroutine, not as an
// OS thread, until its own completion wakes it; reads of page-cached data
// complete inline. The Context API below is what it is built on, for
// programs that batch and reap themselves. Where kaio has no engine (not
// Linux), a File is its os.File, so that code written for File runs
// everywhere.
//
// Three engines sit behind the one API, chosen with WithEngine:
//
//   - retry: kaio's own, Linux 2.6's retry model in Go. A request is first
//     attempted without blocking (preadv2/pwritev2 with RWF_NOWAIT on
//     files, a non-blocking attempt on pipes, sockets and eventfds). What
//     cannot finish waits on an epoll poller (readiness), on Linux AIO
//     (O_DIRECT reads and writes, fsync: asynchronous in the kernel, as in
//     Linux 2.6), or on a bounded pool of offload workers (cache misses,
//     and O_DIRECT where Linux AIO is refused); the wake-up kicks it onto
//     the run list and it is retried. Where Linux AIO is usable, the
//     buffered attempts of one Submit, and a worker's writes to one file,
//     reach the kernel together in one io_submit. WithDeferredWrites
//     leaves the buffered writes that would block to GetEvents, which
//     makes them on the caller's goroutine (io_uring's DEFER_TASKRUN).
//     The kick path closes
//     the races of the July 2005 RFC "Races in aio call back path"
//     (internal/kick; cmd/aio-race explores them).
//   - uring: io_uring through raw syscalls and mapped rings.
//   - native: Linux AIO (io_setup/io_submit/io_getevents); truly
//     asynchronous only for O_DIRECT files.
//
// EngineAuto (the default) picks uring when Probe says it works here, else
// retry.
//
// # Semantics, on every engine
//
// A context never holds more than nrEvents requests in flight or completed
// and not yet reaped: the next Submit fails with EAGAIN. Submit takes iocbs
// in order, stops at the first it refuses and says why: a *SubmitError
// names the iocb and the reason, and matches the errno (EAGAIN, EBADF,
// EINVAL); nothing is half submitted. Every accepted iocb yields exactly one
// Event: its result, a negative errno, or -ECANCELED. Buffers belong to the
// context from Submit until their event is reaped.
//
// Choices where Linux differs or is silent (libaio users will recognise
// most):
//
//   - OpNoop completes at once with 0 and ignores Fd, as io_uring's NOP
//     does (modern Linux AIO refuses IOCB_CMD_NOOP).
//   - A read of a pipe or socket completes with whatever it got, as
//     read(2) does; a write to one completes when all of it was written.
//     A read or write of a file goes on until done, EOF, or an error; an
//     error after partial progress reports the progress.
//   - Offset is ignored for fds that cannot seek; a negative Offset on one
//     that can is EINVAL.
//   - RWF_NOWAIT in RWFlags is the user's: the request then completes with
//     -EAGAIN instead of waiting.
//   - Cancelled requests post their event (-ECANCELED), as Linux 4.19+
//     does, unlike 2.6. Cancel answers nil (done or started), EINVAL (not
//     in flight here) or EAGAIN (a blocking syscall is already under way).
//   - ResFd must be an eventfd (EINVAL otherwise, as eventfd_ctx_fdget
//     says); it is signalled once per completion, after the event is in
//     the ring.
//   - Do runs one iocb synchronously through the same machinery and uses
//     no ring slot; what Submit would refuse comes back as a negative Res.
//   - Non-blocking fds are the supported way to use pipes and sockets. On
//     the retry engine a blocking pipe or socket fd still works, because
//     Linux honours RWF_NOWAIT on them. A blocking fd of a kind that does
//     not (a tty) first waits for readiness on the poller, where Cancel and
//     Destroy can end it, and is then read or written by an offload worker;
//     if another reader takes the data in between, that worker blocks until
//     more comes, and Cancel answers EAGAIN meanwhile. The native engine
//     cannot wait on ttys at all (see its package doc).
//   - Closing an fd does not end requests on it: a waiting request keeps
//     its own reference to the file, as the kernel's kiocb does.
//
// # Platforms
//
// The engines are Linux's (64- and 32-bit, little- and big-endian). The
// package builds on the other platforms Go supports too (all but Plan 9,
// which has no errnos); there, Probe says for each engine why it is not
// usable, and Setup returns a *SetupError that wraps errors.ErrUnsupported.
package kaio
