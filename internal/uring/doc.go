//go:build linux

// Package uring is kaio's io_uring engine: the kernel does the I/O, through
// raw io_uring_setup/io_uring_enter/io_uring_register syscalls and rings
// mapped into the process (no cgo, no liburing).
//
// Mapping of kaio's ops: PREAD/PWRITE → IORING_OP_READ/WRITE, PREADV/PWRITEV
// → IORING_OP_READV/WRITEV, FSYNC/FDSYNC → IORING_OP_FSYNC (with
// IORING_FSYNC_DATASYNC), POLL → IORING_OP_POLL_ADD, NOOP → IORING_OP_NOP.
// Cancel sends IORING_OP_ASYNC_CANCEL, naming the request by its user_data
// (which carries the request's incarnation, so that a late cancel cannot
// reach the next iocb in the same slot), and waits for its answer: 0 → nil
// (the request ends with -ECANCELED), -EALREADY → EAGAIN (it is running in
// an io-wq worker and will end with its real result), -ENOENT → look again:
// it completed (EINVAL), or io_uring did not find it because it was between
// its poll wake-up and its retry, which runs as task work of the thread
// that submitted it; then kaio asks again. Destroy asks again, with a
// growing pause, until every request is out of the kernel: at 9fadd19 one
// such miss left Destroy asleep for good.
//
// The bookkeeping (requests, claims, the user ring, waiters, cancel and
// destroy) is internal/kctx, shared with the native engine; this package is
// the kernel half: SQEs, the rings, io_uring_enter.
//
// Completions. The kernel's CQ ring is drained into a user-space ring of
// exactly nrEvents events (the kernel rounds its rings up to powers of two,
// so capacity is counted here: requests in flight plus events unreaped never
// exceed nrEvents, and Submit says EAGAIN beyond). Draining is what
// completes a request: its iocb claim is released, its buffers unpinned, its
// event posted, and its eventfd (FlagResFd, which io_uring has no per-request
// form of) signalled, once, after the event is visible. While requests with
// an eventfd are in flight a reaper goroutine waits for their completions,
// so that the eventfd is signalled without anyone calling GetEvents.
//
// Waiting. At most one goroutine at a time waits inside io_uring_enter
// (IORING_ENTER_GETEVENTS, min_complete 1, with an IORING_ENTER_EXT_ARG
// timeout when the kernel has it, else poll(2) on the ring fd): it is the
// kernel waiter, and only it drains the CQ while it exists, so a completion
// it waits for can never be taken from under it. Other waiters (GetEvents,
// Do, Cancel, Destroy) sleep on a channel and are woken by its drains; when
// it leaves it wakes them all and one takes its place. To end its sleep
// early (Destroy, a cancelled context.Context) kaio posts an IORING_OP_NOP.
//
// Files: the kernel takes its own reference to a request's file when the
// SQE is submitted, inside Submit. A read or write of a pipe or socket may
// be issued again later (below), so it is submitted on a duplicate of the
// fd that the request holds until it completes; the eventfd is duplicated
// too, as kaio signals it itself.
//
// Pipes and sockets: io_uring completes a write at its first short
// transfer and hands -EAGAIN back when readers race for the same bytes;
// kaio, like the retry engine, issues such a request again (the rest of the
// write, or the read once more) from its list of continuations, which the
// next drainer submits. RWF_NOWAIT from the user turns this off.
//
// Submission is a raw syscall (the Go scheduler is not told it may block:
// io_uring issues each SQE with IOCB_NOWAIT and hands what would sleep to
// its io-wq workers). Those workers belong to the task that submitted, and
// io-wq serialises buffered writes to one inode only within one task's
// workers. A Go program submits from whichever OS thread its goroutine runs
// on, so buffered writes to one file can be spread over several tasks'
// workers and run side by side on the inode lock (three iou-wrk threads
// for one aio-stress context, where fio has one). It is part of why 64 KiB
// buffered writes run at 0.88-0.95x fio io_uring; the native engine (which
// copies buffered writes inside io_submit) and the retry engine are faster
// there.
//
// Completion task work. io_uring posts the CQE of a read or write as task
// work of the thread that submitted it. The ring is set up with
// IORING_SETUP_COOP_TASKRUN (5.19+), so the kernel does not interrupt a
// running thread for it (an IPI, and a VM exit under a hypervisor): it runs
// at the thread's next entry into the kernel, and a thread asleep, as Go's
// idle threads sleep in a futex, is woken for it as before. Without it, the
// thread that submitted was interrupted for each completion whatever
// goroutine it ran by then: 64 goroutines reading one O_DIRECT File spent a
// third more CPU per read, and the 4 KiB random read stage of aio-stress ran
// at half the speed. DEFER_TASKRUN, which fio adds, needs a single thread
// that both submits and waits, which a Go program does not have.
//
// Registered buffers (RegisterBuffers): IORING_REGISTER_BUFFERS, with the
// buffers pinned and referenced from the context until UnregisterBuffers
// or Destroy. prep looks each PREAD/PWRITE buffer up among them (binary
// search by start address) and issues the ones inside a registered buffer
// as READ_FIXED/WRITE_FIXED with its buf_index. Such a request still pins
// its own Buf, so an unregistration while it is in flight is safe (the
// kernel keeps its own reference to the registration too).
//
// Do uses no ring slot: it submits the request with a private tag, does not
// count it against nrEvents, and waits for that one completion.
//
// Memory: buffers and iovec arrays are pinned (runtime.Pinner) and referenced
// from the request from submission until the CQE is drained; Destroy cancels
// everything and waits for every CQE before it unmaps the rings and closes
// the ring fd (closing it with requests in flight would let the kernel finish
// them in the background, after the buffers were handed back).
//
// Lock order:
//
//	Context.smu   (the SQ ring: tail, SQEs, submission)
//	  → kctx.Ctx.Mu (accounting, the user ring, waiters, the CQ head)
package uring
