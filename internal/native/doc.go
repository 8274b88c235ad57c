//go:build linux

// Package native is kaio's Linux AIO engine: io_setup, io_submit,
// io_cancel, io_getevents and io_destroy through golang.org/x/sys/unix, with
// completions reaped from the kernel's aio_ring in user space whenever its
// header carries the magic 0xa10a10a1 (io_getevents without waiting
// otherwise).
//
// What Linux AIO does asynchronously, and what kaio does about the rest:
//   - Only O_DIRECT reads and writes are truly asynchronous. Buffered I/O
//     on a regular file is done synchronously inside io_submit: Submit
//     returns when the data was copied (or read from disk). kaio documents
//     this and does not hide it; use the uring or retry engine for buffered
//     I/O that must not block the submitter.
//   - FSYNC/FDSYNC run in a kernel workqueue (Linux 4.18+).
//   - POLL (IOCB_CMD_POLL) needs Linux 4.18+, and works only on files that
//     wait on a single wait queue: a tty has two, and the kernel answers
//     EINVAL (aio_poll_queue_proc), so a POLL, read or write of a tty
//     completes with -EINVAL here. The retry and uring engines handle
//     ttys.
//   - NOOP (IOCB_CMD_NOOP) was never implemented by the kernel (io_submit
//     refuses it with EINVAL): kaio completes it in user space at Submit.
//   - Pipes, sockets and eventfds: a read or write through AIO
//     blocks in io_submit (blocking fd) or fails with EAGAIN (non-blocking
//     fd). kaio instead submits an IOCB_CMD_POLL for readiness and, when
//     it completes, does the transfer itself with preadv2/pwritev2
//     (RWF_NOWAIT); EAGAIN polls again, and a write goes on until all is
//     written, as with the retry engine. Both the poll and the transfers
//     use a duplicate of the fd that the request holds until it
//     completes: at 9fadd19 the transfer used the caller's number, and a
//     pipe read whose fd was closed and reused read the other file. A
//     blocking fd that refuses RWF_NOWAIT (inotify, say) is read without
//     it on a goroutine of its own, off the context lock, once it polled
//     ready: it blocks there if another reader took the data in between,
//     until more comes; Cancel answers EAGAIN meanwhile and Destroy waits
//     for it, as io_destroy waits for what it cannot cancel. (At 9fadd19
//     that call was made under the context lock and stalled everything.)
//   - POLL completes with the events asked for that are ready, plus
//     POLLERR, POLLHUP and POLLNVAL, as on the other engines: the kernel's
//     aio_poll_wake completes an inline wake-up with the whole wake key
//     (0x41, POLLIN|POLLRDNORM, for a POLLIN poll woken by a pipe write),
//     which kaio masks.
//   - Cancel: the kernel cancels only polls (io_cancel finds nothing else,
//     EINVAL). Cancel answers nil for a poll or a stream waiting for
//     readiness (its event comes as -ECANCELED) and EAGAIN for file I/O in
//     progress, which ends with its real result. io_cancel finds an iocb
//     by its address, which the slot's next request reuses, so it is
//     called under the context lock. A Cancel that comes while its iocb
//     is still on its way into the kernel is recorded and asked by the
//     submitter once io_submit returns (at 9fadd19 it was asked too
//     early, answered EINVAL, and the event never came).
//
// Notification: every iocb carries IOCB_FLAG_RESFD with the context's own
// eventfd, so that one fd wakes the goroutine waiting for completions (in
// ppoll, with the GetEvents timeout). A user's FlagResFd eventfd is
// signalled by kaio when it reaps the completion, once, after the event is
// visible; while such requests are in flight a reaper goroutine does that
// reaping, so that nobody needs to call GetEvents for it.
//
// Capacity is counted here: the kernel rounds its ring up (and doubles it),
// kaio keeps in flight plus unreaped at nrEvents exactly. Do uses no slot:
// its iocb goes to the same kernel context, tagged as private, and the
// caller waits for that completion.
//
// Memory: the kernel iocb, the iovec array and the buffers are pinned
// (runtime.Pinner) from io_submit until the completion is reaped; Destroy
// cancels what it can, waits for every completion, then calls io_destroy,
// which itself takes some 30-50 ms on Linux 6.18 (it waits for an RCU grace
// period before it frees the kernel context).
//
// The bookkeeping (requests, claims, the user ring, waiters, cancel and
// destroy) is internal/kctx, shared with the uring engine; this package is
// the kernel half: iocbs, the aio ring, the AIO syscalls. Its one lock is
// kctx.Ctx.Mu.
package native
