//go:build linux

package core

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the part of GetEvents that every engine decides the same
// way, around its own reaping and waiting: io_getevents' argument check,
// whether to wait at all, and what a wait that ended returns.

// CheckMinNr is io_getevents' argument check: EINVAL unless
// 0 <= minNr <= len(events).
func CheckMinNr(minNr int, events []Event) error {
	if minNr < 0 || minNr > len(events) {
		return unix.EINVAL
	}
	return nil
}

// NoWait decides, for a GetEvents that reaped n events without waiting,
// whether it returns now and with what error: it does once it has minNr,
// when the timeout is zero (a poll), or when ctx is done already, with
// ctx.Err() only if it got nothing.
func NoWait(ctx context.Context, n, minNr int, timeout time.Duration) (bool, error) {
	if n >= minNr || timeout == 0 {
		return true, nil
	}
	if ctx != nil && ctx.Err() != nil {
		if n > 0 {
			return true, nil
		}
		return true, ctx.Err()
	}
	return false, nil
}

// WaitResult is what a GetEvents that waited returns with n events: 0 and
// EINVAL if the context was destroyed meanwhile (the events it holds are
// dropped with every other event not reaped when Destroy started: a
// reaper asleep during Destroy gets EINVAL every time, whatever the race
// with the cancellations Destroy posts); else the events if there are
// any, whatever ended the wait; else err, why the wait ended (the caller's
// ctx, or nil for the timeout).
func WaitResult(n int, dead bool, err error) (int, error) {
	if dead {
		return 0, unix.EINVAL
	}
	if n > 0 {
		return n, nil
	}
	return 0, err
}

// CtxErr is ctx.Err(), or nil for a nil ctx (GetEvents' ctx may be nil).
func CtxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
