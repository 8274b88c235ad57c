//go:build linux

package uring

import (
	"runtime"
	"sync"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/kctx"
	"golang.org/x/sys/unix"
)

// Context is an io_uring engine context: one ring, nrEvents slots. Its
// bookkeeping (requests, claims, the user ring, waiters, cancel, destroy)
// is kctx's; Context is the kernel half (kctx.Kernel).
type Context struct {
	kctx.Ctx[request]

	nr     int
	fd     int // the ring; closed by Close once nothing is pending
	extArg bool
	// coopTaskrun: the ring was set up with IORING_SETUP_COOP_TASKRUN
	// (see New).
	coopTaskrun bool

	// smu serialises writers of the SQ ring (Issue, Cancel, WakeKernel,
	// Close) and guards the fields below it. The CQ side of ring is read
	// under Ctx.Mu instead; its mapping changes only when Close unmaps
	// it, once nobody is waiting. Lock order: smu → Ctx.Mu.
	smu    sync.Mutex
	ring   ring
	sqTail uint32 // our copy of the SQ tail
	closed bool   // the ring is unmapped and its fd closed

	// The registered buffers (RegisterBuffers): the table Prep looks them
	// up in (written under smu and Ctx.Mu, read under either), and their
	// pins, which also keep them from being freed.
	fixed    fixedTable
	fixedPin runtime.Pinner

	// The kernel waiter's io_uring_enter arguments (one kernel waiter at
	// a time). They live in the heap, in the context, because the kernel
	// reads them through a pointer the syscall gets as an integer: a
	// goroutine stack may move, the heap does not.
	kwArg getEventsArg
	kwTs  kernelTimespec
}

var _ kctx.Kernel[request] = (*Context)(nil)

// New sets up an io_uring with room for nr completions.
func New(nr int) (*Context, error) {
	if nr <= 0 {
		return nil, unix.EINVAL
	}
	c := &Context{nr: nr}
	sq := uint32(min(max(nr, 8), 4096))
	// COOP_TASKRUN: a completion is posted by task work on the thread
	// that submitted its request, and without it the kernel interrupts
	// that thread (an IPI, a VM exit under a hypervisor) for each one.
	// Any of a Go program's threads may have submitted, and most of them
	// are busy with other goroutines: with it, the task work waits for
	// the thread's next entry into the kernel (a syscall, an interrupt,
	// the runtime's preemption signal), and a thread asleep is still woken
	// for it (TestCompletionOnAnIdleOrBusySubmitter). O_DIRECT reads from
	// 64 goroutines on one File: 1.33x the IOPS, three quarters of the CPU
	// per read. fio sets it too. Kernels before 5.19 refuse it.
	flags := uint32(setupCQSize | setupClamp)
	p := params{flags: flags | setupCoopTaskrun, cqEntries: uint32(min(max(2*nr, 16), 2*maxEntries))}
	fd, err := setup(sq, &p)
	if err == unix.EINVAL {
		p = params{flags: flags, cqEntries: p.cqEntries}
		fd, err = setup(sq, &p)
	}
	if err == unix.EINVAL {
		// Kernels before 5.5 know neither CQSIZE nor CLAMP.
		p = params{}
		fd, err = setup(sq, &p)
	}
	if err != nil {
		return nil, err
	}
	c.fd = fd
	if err := c.ring.mapRing(fd, &p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c.extArg = p.features&featExtArg != 0
	c.coopTaskrun = p.flags&setupCoopTaskrun != 0
	c.sqTail = c.ring.loadSQTail()
	c.Init(c, nr, nil)
	return c, nil
}

// Prep implements kctx.Kernel: r's SQE, which Issue copies into the ring.
func (c *Context) Prep(r *req, seekable bool) (bool, int64) {
	r.P.prep(&r.P.sqe, r.Tag, r.Fd, r.Iocb, 0, r.Iocb.Op == core.OpNoop || seekable, true, c.fixed)
	return false, 0
}

// PrepNext implements kctx.Kernel: the SQE of a stream's next read or
// write, past what it moved already, on its own duplicate of the fd.
func (c *Context) PrepNext(r *req) {
	r.P.prep(&r.P.sqe, r.Tag, r.Fd, r.Iocb, r.Written, false, false, nil)
}

// Issue implements kctx.Kernel: the SQEs go into the SQ ring and one
// io_uring_enter hands them over. They are copied under Ctx.Mu as well as
// smu: once the kernel has one, its request may complete and be prepared
// again for another iocb, under Mu, and the race detector does not see
// the kernel's SQE-to-CQE ordering.
func (c *Context) Issue(rs []*req) (int, unix.Errno) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return 0, unix.EINVAL
	}
	for j := 0; j < len(rs); {
		// As many as the SQ ring has room for, in one critical section.
		room := int(c.ring.sqEntries - (c.sqTail - c.ring.loadSQHead()))
		if room == 0 {
			if n, e := c.flushSmu(); e != 0 {
				return j - n, e // the last n written were taken back
			}
			continue
		}
		c.Mu.Lock()
		for _, r := range rs[j:min(len(rs), j+room)] {
			c.ring.sqes[c.sqTail&c.ring.sqMask] = r.P.sqe
			c.sqTail++
			j++
		}
		c.Mu.Unlock()
	}
	if n, e := c.flushSmu(); e != 0 {
		return len(rs) - n, e
	}
	return len(rs), 0
}

// sqeSmu returns the next free SQE, submitting what is queued when the SQ
// ring is full; when that submission is refused, it returns flushSmu's
// count of SQEs taken back and its errno. Hold smu.
func (c *Context) sqeSmu() (*sqe, int, unix.Errno) {
	for c.sqTail-c.ring.loadSQHead() >= c.ring.sqEntries {
		if n, e := c.flushSmu(); e != 0 {
			return nil, n, e
		}
	}
	return &c.ring.sqes[c.sqTail&c.ring.sqMask], 0, 0
}

// queueRawSmu writes an SQE that carries no user buffer. Hold smu.
func (c *Context) queueRawSmu(op uint8, ud, addr uint64) unix.Errno {
	s, _, e := c.sqeSmu()
	if e != 0 {
		return e
	}
	*s = sqe{opcode: op, fd: -1, userData: ud, addr: addr}
	c.sqTail++
	return 0
}

// flushSmu hands every queued SQE to the kernel. When io_uring_enter
// refuses them outright (EPERM from a seccomp profile that allows setup but
// not enter, or the like), the SQEs not consumed are taken back from the
// ring, which the kernel did not read, and flushSmu returns how many they
// were and the errno. Hold smu.
func (c *Context) flushSmu() (int, unix.Errno) {
	for {
		head := c.ring.loadSQHead()
		if head == c.sqTail {
			return 0, 0
		}
		c.ring.storeSQTail(c.sqTail)
		_, e := enterSubmit(c.fd, c.sqTail-head)
		switch e {
		case 0, unix.EINTR:
		case unix.EAGAIN, unix.EBUSY, unix.ENOMEM:
			// The kernel is short of request memory, or its CQ backlog
			// is full: let completions be drained, then try again.
			c.Mu.Lock()
			c.DrainKernelLocked()
			c.Mu.Unlock()
			time.Sleep(50 * time.Microsecond)
		default:
			n := int(c.sqTail - head)
			c.sqTail = head
			c.ring.storeSQTail(head)
			return n, e
		}
	}
}

// AskCancel implements kctx.Kernel with IORING_OP_ASYNC_CANCEL: the answer is
// its CQE, which the drain hands to AnsweredLocked.
func (c *Context) AskCancel(op *kctx.CancelOp[request]) kctx.Answer {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.closed {
		return kctx.NotFound
	}
	// Read under Mu: once answered, op is reused for other requests
	// under Mu, and the race detector does not see that the answer
	// comes after this SQE.
	c.Mu.Lock()
	tag, target := op.Tag, op.TargetTag
	c.Mu.Unlock()
	if c.queueRawSmu(opAsyncCancel, tag, target) != 0 {
		return kctx.NotFound // io_uring_enter is refused: nothing is in the kernel
	}
	if _, e := c.flushSmu(); e != 0 {
		return kctx.NotFound
	}
	return kctx.Later
}

// SyncCancel implements kctx.Kernel: ASYNC_CANCEL finds its target by
// user_data, which carries the request's incarnation, and answers later.
func (c *Context) SyncCancel() bool { return false }

// answer maps an ASYNC_CANCEL's result to kctx's answers.
func answer(res int64) kctx.Answer {
	switch res {
	case 0:
		return kctx.Cancelled
	case -int64(unix.EALREADY):
		return kctx.Busy // running in an io-wq worker: it ends with its real result
	}
	return kctx.NotFound // -ENOENT: completed, or between a poll wake-up and its retry
}

// Continue implements kctx.Kernel for reads and writes of pipes and
// sockets: one ending in -EAGAIN (readers raced for the same bytes after
// the poll io_uring armed woke them all) is issued again, unless the caller
// asked for RWF_NOWAIT; and a write goes on until all is written, as with
// the retry engine (io_uring completes it at the first short write).
func (c *Context) Continue(r *req, res int64, blocked bool) (kctx.Step, int64) {
	again := res == -int64(unix.EAGAIN) && !r.NoWait
	if again || res > 0 && r.Iocb.Op.Writes() && r.Written+res < r.Iocb.Len() {
		r.Written += max(res, 0)
		return kctx.Again, 0
	}
	if r.Written > 0 {
		res = r.Written + max(res, 0)
	}
	return kctx.Finish, res
}

// Block implements kctx.Kernel; uring never asks for a blocking transfer
// (io_uring makes blocking calls in its own io-wq workers).
func (c *Context) Block(r *req) int64 { return -int64(unix.EINVAL) }

// Release implements kctx.Kernel.
func (c *Context) Release(r *req) { r.P.release() }

// Close implements kctx.Kernel: unmap the rings and close the fd (the
// kernel drops the registered buffers with the ring).
func (c *Context) Close() {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.closed = true
	c.ring.unmap()
	unix.Close(c.fd)
	c.dropFixedSmu()
}
