//go:build linux

package kaio

import (
	"fmt"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/native"
	"github.com/kaio-go/kaio/internal/retry"
	"github.com/kaio-go/kaio/internal/uring"
	"golang.org/x/sys/unix"
)

// The engines on Linux: retry works wherever the module builds; the kernel
// engines are probed.

func probeRetry() EngineStatus { return EngineStatus{Engine: EngineRetry, Usable: true} }

// probeURing and probeNative are variables so that a test can make a probe
// fail and watch auto fall back.
var (
	probeURing = func() EngineStatus {
		st := uring.Probe()
		return EngineStatus{Engine: EngineURing, Usable: st.Usable, Reason: st.Reason, Err: st.Err}
	}
	probeNative = func() EngineStatus {
		st := native.Probe()
		return EngineStatus{Engine: EngineNative, Usable: st.Usable, Reason: st.Reason, Err: st.Err}
	}
)

// setupReason is the reason a kernel engine's probe gives for the errno its
// New returned: which limit, with its current values. "" for the others.
func setupReason(e Engine, nr int, err error) string {
	switch e {
	case EngineURing:
		return uring.SetupReason(err, nr)
	case EngineNative:
		return native.SetupReason(err, nr)
	case EngineRetry, EngineAuto:
		return ""
	}
	return fmt.Sprintf("unknown engine %v (EINVAL)", e)
}

// newBackend sets up engine e's context for nr events.
func newBackend(e Engine, nr int, cfg *config) (engineContext, error) {
	var be core.Backend
	var err error
	switch e {
	case EngineRetry:
		be, err = retry.New(nr, retry.Config{Workers: cfg.workers, DeferWrites: cfg.deferWrites})
	case EngineURing:
		be, err = uring.New(nr)
	case EngineNative:
		be, err = native.New(nr)
	default:
		err = unix.EINVAL
	}
	return engineContext{be: be, files: new(fileTable)}, err
}
