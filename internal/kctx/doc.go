//go:build linux

// Package kctx is the user-space half of a kernel AIO context, shared by
// the uring and native engines: the request table and the iocbs' claims,
// the user ring of exactly nrEvents slots, the goroutines that wait for
// completions (one of them in the kernel), and the bookkeeping of submit,
// cancel, completion and destroy, where every accepted iocb must end in
// exactly one event and Destroy must always return.
//
// The engine supplies the other half, Kernel: how a request is written for
// the kernel, how it is handed over, how the kernel is asked to cancel it,
// how completions are read back, and how one goroutine sleeps until they
// come. Everything here is written against internal/lock, so that
// internal/explore can run this very code with a model kernel that
// completes requests in any order and answers cancels as it likes
// (cmd/aio-race -protocol kaio).
//
// # The rules
//
// File references. A request acts on the file its Iocb.Fd named at Submit
// and signals the eventfd its Iocb.ResFd named, whatever the caller does
// with the numbers afterwards. The kernel takes its own reference to the
// file of every request at the moment it is handed over, inside Submit;
// what kaio does itself after Submit returns gets a duplicate made before
// Submit returns: a stream's later transfers and resubmissions (Req.Fd),
// and the eventfd signal (Req.ResFd). Both are closed when the request
// completes.
//
// Delivery. Every request taken ends in exactly one completion
// (completeLocked), whatever races it: the kernel completes it, or refuses
// it at Issue (its errno), or Cancel or Destroy end it while it is between
// two kernel operations. A request is in one state at a time (Req.state),
// changed only under Mu, and only the state's owner moves it on.
//
// Cancel. The kernel's answer to a cancel is one of Cancelled, NotFound or
// Busy. NotFound and Busy do not mean the request is done: io_uring misses
// a request that is between its poll wake-up and its retry (the retry runs
// as task work of the thread that submitted it), and a request whose
// kernel half has not yet been handed over cannot be found at all. So a
// cancel that comes while the request is being issued is recorded and
// asked by the issuer once Issue returns; a Cancel answered NotFound looks
// again after taking in what the kernel completed; and Destroy asks again,
// with a growing pause, for every request still in the kernel after such
// an answer, until none is left.
//
// Destroy. It marks the context dead (every later call says EINVAL, every
// sleeping GetEvents returns EINVAL), ends the requests that are between
// kernel operations, asks the kernel to cancel every other one, and waits
// until no kernel operation is pending, nobody is in the kernel and no
// request is being worked on outside it. Only then does the engine close
// its kernel context.
//
// # Lock order
//
//	the engine's own locks (uring's SQ lock)
//	  → Ctx.Mu
//
// Kernel methods that may take the engine's locks (Issue, Cancel,
// WakeKernel) are called without Mu.
package kctx
