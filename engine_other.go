//go:build !linux

package kaio

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// kaio's engines are Linux's: retry is built on epoll, preadv2's
// RWF_NOWAIT and eventfds, uring and native on their syscalls. Elsewhere
// the package builds, Probe says why no engine is usable, and Setup
// fails with an error that wraps errors.ErrUnsupported.

// errNoEngine is every engine's refusal here.
var errNoEngine = fmt.Errorf("kaio's engines need Linux (epoll, preadv2 with RWF_NOWAIT, eventfd, io_uring, Linux AIO); this is %s/%s: %w",
	runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

func probeStatus(e Engine) EngineStatus {
	return EngineStatus{Engine: e, Reason: errNoEngine.Error(), Err: errNoEngine}
}

func probeRetry() EngineStatus { return probeStatus(EngineRetry) }

// probeURing and probeNative are variables, as on Linux, for the tests.
var (
	probeURing  = func() EngineStatus { return probeStatus(EngineURing) }
	probeNative = func() EngineStatus { return probeStatus(EngineNative) }
)

func setupReason(e Engine, nr int, err error) string {
	if e < EngineAuto || e > EngineNative {
		return fmt.Sprintf("unknown engine %v (EINVAL)", e)
	}
	return err.Error()
}

func newBackend(e Engine, nr int, cfg *config) (engineContext, error) {
	if e < EngineAuto || e > EngineNative {
		return engineContext{}, syscall.EINVAL
	}
	return engineContext{}, errNoEngine
}

// engineContext is empty: Setup never returns a Context here, and the
// methods of a zero Context answer errNoEngine.
type engineContext struct{}

func (engineContext) submit([]*Iocb) (int, error) { return 0, errNoEngine }

func (engineContext) getEvents(context.Context, int, []Event, time.Duration) (int, error) {
	return 0, errNoEngine
}

func (engineContext) cancel(*Iocb) error { return errNoEngine }

func (engineContext) do(i *Iocb) Event {
	ev := Event{Res: -int64(syscall.EINVAL)}
	if i != nil {
		ev.Data, ev.Obj = i.Data, i
	}
	return ev
}

func (engineContext) stats() Stats { return Stats{} }

func (engineContext) destroy() error { return errNoEngine }

func (engineContext) registerBuffers([][]byte) error { return errNoEngine }

func (engineContext) unregisterBuffers() error { return errNoEngine }

func (engineContext) registerFiles([]int) error { return errNoEngine }

func (engineContext) updateFiles(int, []int) error { return errNoEngine }

func (engineContext) unregisterFiles() {}

func submitReason(cause error) string { return cause.Error() }

// errnoName is "" here: SetupError's reasons on these platforms name no
// errno.
func errnoName(syscall.Errno) string { return "" }
