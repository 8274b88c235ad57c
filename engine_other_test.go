//go:build !linux

package kaio

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestNoEngineHere: where kaio has no engine, Probe says why for each, and
// Setup fails with a *SetupError that wraps errors.ErrUnsupported (after
// refusing bad arguments as everywhere).
func TestNoEngineHere(t *testing.T) {
	resetAuto()
	for _, st := range Probe() {
		if st.Usable || !errors.Is(st.Err, errors.ErrUnsupported) || !strings.Contains(st.Reason, runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("Probe: %v usable %v, %v, %q", st.Engine, st.Usable, st.Err, st.Reason)
		}
	}
	for _, e := range []Engine{EngineAuto, EngineRetry, EngineURing, EngineNative} {
		c, err := Setup(8, WithEngine(e))
		var se *SetupError
		if c != nil || !errors.As(err, &se) || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "need Linux") {
			t.Errorf("Setup on %v: %v, %v; want a *SetupError wrapping errors.ErrUnsupported", e, c, err)
		}
	}
	if _, err := Setup(0); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Setup(0): %v, want EINVAL", err)
	}
	var c Context
	if n, err := c.Submit(&Iocb{Op: OpNoop}); n != 0 || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Submit on a zero Context: %d, %v", n, err)
	}
}
